import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cancelTrainingTool } from '../../tools/cancel-training.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { estimateResourcesTool } from '../../tools/estimate-resources.js';
import { listJobsTool } from '../../tools/list-jobs.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { resumeTrainingTool } from '../../tools/resume-training.js';
import { startTrainingTool } from '../../tools/start-training.js';

type Schema = { description?: string; properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; additionalProperties?: Schema | boolean };

/** Paths of output fields, at every depth, that carry no description. */
function undescribed(schema: Schema, path: string, missing: string[] = []): string[] {
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    if (!child.description) missing.push(`${path}.${key}`);
    undescribed(child, `${path}.${key}`, missing);
  }
  if (schema.items) undescribed(schema.items, `${path}[]`, missing);
  for (const option of schema.anyOf ?? []) undescribed(option, path, missing);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') undescribed(schema.additionalProperties, `${path}{}`, missing);
  return missing;
}

const TRAINING_TOOLS = [configureTrainingTool, estimateResourcesTool, planTrainingTool, startTrainingTool, monitorTrainingTool, cancelTrainingTool, resumeTrainingTool, listJobsTool];

describe('training tool schemas', () => {
  it('describe every output field, at every depth', () => {
    // the walker itself finds a nested field without a description
    expect(undescribed(z.toJSONSchema(z.object({ a: z.object({ b: z.string() }).describe('has one') })) as Schema, 'probe')).toEqual(['probe.a.b']);
    for (const tool of TRAINING_TOOLS) {
      const schema = z.toJSONSchema(z.object(tool.output), { io: 'output', unrepresentable: 'any' }) as Schema;
      expect(undescribed(schema, tool.name)).toEqual([]);
    }
  });

  it('are honest: only the inspections are read-only, cancel is destructive and idempotent', () => {
    const readOnly = TRAINING_TOOLS.filter((t) => t.annotations.readOnlyHint).map((t) => t.name);
    expect(readOnly.sort()).toEqual(['list_jobs', 'monitor_training']);
    expect(cancelTrainingTool.annotations).toMatchObject({ destructiveHint: true, idempotentHint: true });
  });
});
