import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { completeLines, parseEventLines } from '../../src/plugin-sdk/index.js';

// Written by the Python trainer (trainer/tests/test_events.py checks its event lines byte for byte), with other log lines between.
const FIXTURE = readFileSync(new URL('../../trainer/tests/fixtures/event-lines.log', import.meta.url), 'utf8');

describe('the trainer event-line parser (trainer/EVENTS.md)', () => {
  it('reads what the Python trainer writes and ignores every other line', () => {
    const report = parseEventLines(FIXTURE);
    expect([report.step, report.total_steps, report.state, report.message]).toEqual([20, 20, 'succeeded', 'Adapter saved after 20 steps.']);
    expect(report.metric_points).toEqual([
      { name: 'loss', step: 5, value: 2.5 },
      { name: 'lr', step: 5, value: 0.0002 },
      { name: 'loss', step: 10, value: 1.84 },
      { name: 'eval_loss', step: 10, value: 1.9 },
      { name: 'loss', step: 20, value: 1.1 },
    ]);
    expect(report.checkpoints).toEqual([{ step: 10, path: '/runs/job_01abc/checkpoints/checkpoint-10' }]);
    expect(report.adapter_path).toBe('/runs/job_01abc/output/adapter');
    expect(report.events.map((e) => e.type)).toEqual(['remote_status', 'remote_event', 'remote_artifact', 'remote_status']);
    expect(report.events[1]).toMatchObject({ message: expect.stringContaining('retrying from the last checkpoint'), data: { seq: 7 } });
    expect(report.skipped).toBe(0);
  });

  it("reads event lines behind Ray's Ray Train worker tag, and the URI a full model or adapter was also written to", () => {
    const report = parseEventLines(
      [
        '(RayTrainWorker pid=4242, ip=10.0.3.7) FTM_EVENT {"v":1,"time":1,"type":"progress","step":3,"total_steps":9}',
        '(RayTrainWorker pid=4242) FTM_EVENT {"v":1,"seq":4,"time":2,"type":"artifact","kind":"model","path":"/mnt/ftm/job_1/output/model","uri":"hf://acme/llama-full"}',
        // Another tag, or text before the marker, is not an event line.
        '[worker] FTM_EVENT {"v":1,"time":1,"type":"progress","step":8,"total_steps":9}',
      ].join('\n'),
    );
    expect([report.step, report.total_steps]).toEqual([3, 9]);
    expect([report.adapter_path, report.output_uri]).toEqual(['/mnt/ftm/job_1/output/model', 'hf://acme/llama-full']);
    expect(report.events[0].message).toBe('model saved at /mnt/ftm/job_1/output/model and written to hf://acme/llama-full');
    expect(report.skipped).toBe(0);
  });

  it('skips torn, unknown-version and malformed event lines, counting them', () => {
    const report = parseEventLines(
      ['FTM_EVENT {"v":1,"seq":1,"time":1,"type":"met', 'FTM_EVENT {"v":2,"time":1,"type":"metric","name":"loss","step":1,"value":1}', 'FTM_EVENT {"v":1,"time":1,"type":"metric","name":"loss","step":1,"value":"NaN"}', 'FTM_EVENT {"v":1,"time":1,"type":"teleport"}', 'FTM_EVENT {"v":1,"seq":2,"time":1,"type":"status","state":"failed","message":"CUDA out of memory","error_code":"OUT_OF_MEMORY"}\r'].join('\n'),
    );
    expect(report.skipped).toBe(4);
    expect(report.metric_points).toEqual([]);
    expect([report.state, report.error_code]).toEqual(['failed', 'OUT_OF_MEMORY']);
    expect(report.events[0]).toMatchObject({ level: 'error' });
  });

  it('reads a growing log a complete line at a time', () => {
    const lines = FIXTURE.split('\n');
    const partial = lines.slice(0, 3).join('\n') + '\n' + lines[3].slice(0, 10);
    const first = completeLines(partial, 0);
    expect(first.text.split('\n').length).toBe(4);
    expect(completeLines(partial, first.next_offset)).toEqual({ text: '', next_offset: first.next_offset });
    const second = completeLines(FIXTURE, first.next_offset);
    expect(parseEventLines(first.text).step! + 0).toBe(5);
    expect(parseEventLines(second.text).metric_points).toHaveLength(5);
    // A log shorter than what was read (a replaced driver log) is read again from its start.
    expect(completeLines('a\n', 500)).toEqual({ text: 'a\n', next_offset: 2 });
  });
});
