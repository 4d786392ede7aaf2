import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { modalPlugin } from '../../plugins/modal/index.js';
import { openaiPlugin } from '../../plugins/openai/index.js';
import { togetherPlugin } from '../../plugins/together/index.js';
import type { ConfigOverrides } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { scrubSecrets } from '../../src/observability/secrets.js';
import type { PluginDefinition } from '../../src/plugins/types.js';
import { configureTrainingTool } from '../../tools/configure-training.js';
import { monitorTrainingTool } from '../../tools/monitor-training.js';
import { planTrainingTool } from '../../tools/plan-training.js';
import { startTrainingTool } from '../../tools/start-training.js';
import { FakeOpenAI } from '../remote/fake-openai.js';
import { FakeModal } from '../remote/fake-modal.js';
import { FakeTogether } from '../remote/fake-together.js';
import type { SeenRequest } from '../remote/http-fake.js';
import { prepareTestDataset } from '../training/datasets.js';
import { connectTestClient, errorCode, resultText, type TestClient } from '../helpers/mcp.js';

/** What a careless upstream answers: its error body quotes the request's Authorization header. */
const echo = (request: SeenRequest) => ({
  status: 400,
  body: { error: { message: `Malformed request (headers: authorization=${String(request.headers.authorization)})`, type: 'invalid_request_error' } },
});

/** A server whose every log line is kept, and every tool result text, to search for a secret afterwards. */
async function observed(options: { plugins?: PluginDefinition<any>[]; env?: Record<string, string>; config?: ConfigOverrides }) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const t = await connectTestClient({ ...options, config: options.config, logger: createLogger({ level: 'trace', destination: stream }) });
  const texts: string[] = [];
  const call = async (name: string, args: Record<string, unknown>): Promise<CallToolResult> => {
    const result = await t.call(name, args);
    texts.push(resultText(result), JSON.stringify(result.structuredContent ?? null), JSON.stringify(result._meta ?? null));
    return result;
  };
  return { t, lines, texts, call };
}

/** Every text column of every table of workspace.db, and every file of the workspace. */
function workspaceText(t: TestClient): string {
  const db = t.services.workspace.db;
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
  const out: string[] = [];
  for (const table of tables) {
    for (const row of db.prepare(`SELECT * FROM "${table}"`).all() as Array<Record<string, unknown>>) {
      for (const value of Object.values(row)) if (typeof value === 'string') out.push(value);
    }
  }
  for (const entry of readdirSync(t.home, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.push(readFileSync(join(entry.parentPath, entry.name), 'latin1'));
  }
  return out.join('\n');
}

/** Where the key shows: in a tool result, a log line, or the workspace (database rows and files). */
function leaks(o: Awaited<ReturnType<typeof observed>>, key: string): string[] {
  const places: Array<[string, string]> = [['tool results', o.texts.join('\n')], ['log lines', o.lines.join('')], ['workspace', workspaceText(o.t)]];
  return places.filter(([, text]) => text.includes(key)).map(([where]) => where);
}

async function trainUntilFailed(o: Awaited<ReturnType<typeof observed>>, backend: string, base_model: string, approach: 'full' | 'lora') {
  const dataset_id = await prepareTestDataset(o.t, { rows: 20 });
  const config = await o.t.callOk(configureTrainingTool, { base_model, dataset_id, backend, method: 'sft', approach, template: 'smoke' });
  const plan = await o.t.callOk(planTrainingTool, { config_id: config.config_id });
  const job = await o.t.callOk(startTrainingTool, { plan_id: plan.plan_id });
  for (let i = 0; i < 200; i++) {
    const m = await o.call('monitor_training', { job_id: job.job_id, wait_s: 0.1, events_limit: 100 });
    const status = (m.structuredContent as { status: string }).status;
    if (status === 'failed') return job.job_id;
    expect(['queued', 'preparing', 'running']).toContain(status);
  }
  throw new Error('the job never failed');
}

describe('secrets that an upstream echoes never reach a result, a log line or the workspace', () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  /** Each remote backend against its fake, which answers the first upload or submit with a body quoting the credentials. */
  const backends = [
    {
      name: 'openai',
      async serve() {
        const fake = new FakeOpenAI('sk-echo-openai-0123456789abcdefXYZ');
        const url = await fake.start();
        fake.http.fail({ method: 'POST', path: /\/files$/, times: 10, reply: echo });
        return { stop: () => fake.stop(), secrets: [fake.apiKey], env: { OPENAI_API_KEY: fake.apiKey, OPENAI_BASE_URL: url } };
      },
      plugin: openaiPlugin,
      base_model: 'gpt-4o-mini-2024-07-18',
      approach: 'full' as const,
      shown: 'Malformed request (headers: authorization=Bearer [redacted])',
    },
    {
      name: 'together',
      async serve() {
        const fake = new FakeTogether('tg-echo-together-0123456789abcdefXYZ');
        const url = await fake.start();
        fake.http.fail({ method: 'POST', path: /\/files\/upload$/, times: 10, reply: echo });
        return { stop: () => fake.stop(), secrets: [fake.apiKey], env: { TOGETHER_API_KEY: fake.apiKey, TOGETHER_BASE_URL: url } };
      },
      plugin: togetherPlugin,
      base_model: 'meta-llama/Meta-Llama-3.1-8B-Instruct-Reference',
      approach: 'lora' as const,
      shown: 'authorization=Bearer [redacted]',
    },
    {
      name: 'modal',
      async serve() {
        const fake = new FakeModal('wk-echo-modal-id-0123456789', 'ws-echo-modal-secret-0123456789');
        const url = await fake.start();
        // Modal's proxy auth is two headers, no Bearer: only the configured values can be recognised.
        const reply = (r: SeenRequest) => ({ status: 400, body: { detail: { message: `bad spec; sent modal-key=${String(r.headers['modal-key'])} modal-secret=${String(r.headers['modal-secret'])}` } } });
        fake.http.fail({ method: 'POST', path: /^\/jobs$/, times: 10, reply });
        return { stop: () => fake.stop(), secrets: [fake.tokenId, fake.tokenSecret], env: { MODAL_ENDPOINT_URL: url, MODAL_TOKEN_ID: fake.tokenId, MODAL_TOKEN_SECRET: fake.tokenSecret } };
      },
      plugin: modalPlugin,
      base_model: 'Qwen/Qwen2.5-0.5B-Instruct',
      approach: 'lora' as const,
      shown: 'modal-key=[redacted] modal-secret=[redacted]',
    },
  ];

  it.each(backends)('$name: an error body quoting the credentials fails the job without them', async (backend) => {
    const fake = await backend.serve();
    closers.push(fake.stop);
    const o = await observed({ plugins: [backend.plugin], env: fake.env, config: { plugins: { [backend.name]: { max_retries: 0 } } } });
    closers.push(() => o.t.close());
    const job_id = await trainUntilFailed(o, backend.name, backend.base_model, backend.approach);
    await o.call('list_jobs', {});
    for (const secret of fake.secrets) expect(leaks(o, secret)).toEqual([]);
    // The failure is still explained, the upstream's words kept, the credentials cut out.
    const monitor = await o.t.callOk(monitorTrainingTool, { job_id });
    expect(monitor.error_message).toContain(backend.shown);
    expect(o.lines.join('')).toContain('[redacted]');
  });

  it('judge endpoint: a 401 quoting the header, and a key from the config file only', async () => {
    const key = 'sk-echo-judge-0123456789abcdefXYZ';
    const server: Server = createServer((req, res) => {
      res.statusCode = 401;
      res.setHeader('content-type', 'application/json');
      // Not even as a Bearer token: the raw value, as a body that quotes a config dump would show it.
      res.end(JSON.stringify({ error: { message: `Key ${String(req.headers.authorization).slice('Bearer '.length)} is not valid`, type: 'invalid_request_error' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const o = await observed({ config: { judge: { base_url: baseURL, model: 'judge-1', api_key: key, max_tokens: 64, timeout_s: 10, max_retries: 0 } } });
    closers.push(() => o.t.close());
    const path = join(mkdtempSync(join(o.t.home, 'cmp-')), 'outputs.jsonl');
    writeFileSync(path, `${JSON.stringify({ prompt: 'Say hi.', outputs: { base: 'hi', ft: 'hello' } })}\n`);
    const denied = await o.call('compare_models', { outputs_path: path, baseline: 'base' });
    expect(leaks(o, key)).toEqual([]);
    expect(errorCode(denied)).toBe('AUTH_INVALID');
    expect(resultText(denied)).toContain('Key [redacted] is not valid');
  });

  it('scrubs bearer tokens nobody configured, and leaves ordinary text alone', () => {
    expect(scrubSecrets('upstream said: Authorization: Bearer abcdefgh12345678 was refused')).toBe('upstream said: Authorization: Bearer [redacted] was refused');
    expect(scrubSecrets('GET /v1/models?api_key=abcdefgh12345678&x=1')).toBe('GET /v1/models?api_key=[redacted]&x=1');
    expect(scrubSecrets('Bearer token for --http; max_tokens=256 tokenizer cl100k_base')).toBe('Bearer token for --http; max_tokens=256 tokenizer cl100k_base');
  });
});

describe('which values count as secrets', () => {
  it('takes secret-named config keys and environment variables, not look-alikes', async () => {
    const { secretsOfConfig, secretsOfEnv } = await import('../../src/observability/secrets.js');
    const config = {
      plugins: { modal: { token_id: 'wk-modal-id-123456', token_secret: 'ws-modal-secret-123456' }, phoenix: { api_key: 'px-key-123456789' }, together: { wandb_api_key: 'wandb-0123456789' } },
      http: { token: 'http-token-0123456789' },
      judge: { api_key: 'judge-key-0123456789', max_tokens: 256, model: 'judge-1' },
      datasets: { default_tokenizer: 'cl100k_base' },
    };
    expect(secretsOfConfig(config).sort()).toEqual(['http-token-0123456789', 'judge-key-0123456789', 'px-key-123456789', 'wandb-0123456789', 'wk-modal-id-123456', 'ws-modal-secret-123456']);
    const env = { PHOENIX_API_KEY: 'a', MODAL_TOKEN_SECRET: 'b', HF_TOKEN: 'c', AWS_SECRET_ACCESS_KEY: 'd', TOKENIZERS_PARALLELISM: 'false', HOME: '/root', OPENAI_BASE_URL: 'http://x' };
    expect(secretsOfEnv(env).sort()).toEqual(['a', 'b', 'c', 'd']);
  });
});
