import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { FinetuneError } from '../src/errors.js';
import { openaiPlugin } from '../plugins/openai/index.js';
import { lookupModel } from '../plugins/openai-compatible/fine-tuning/profile.js';
import { openAIProfile } from '../plugins/openai/models.js';

const files: Record<string, string> = {
  '/cfg/a.yaml': 'home: /from-file\nhttp:\n  port: 9000\n  host: 127.0.0.1\nlog_level: debug\n',
  '/cfg/b.json': '{"http": {"port": "eighty"}}',
  '/cfg/broken.json': '{"http": ',
  // A config written for an older server: prices were a core setting until issue 14.
  '/cfg/old-prices.yaml': 'training:\n  watch_interval_ms: 500\n  prices:\n    openai:\n      per_million_tokens:\n        gpt-4o-mini: 3\n',
  '/cfg/typo.json': '{"training": {"watch_intervall_ms": 100}}',
  '/cfg/openai-price.yaml': 'plugins:\n  openai:\n    models:\n      gpt-4o-mini-2024-07-18:\n        token_limit: 65536\n        usd_per_million_training_tokens: 2.5\n',
};
const readFile = (path: string) => {
  if (!(path in files)) throw new Error(`ENOENT: no such file ${path}`);
  return files[path];
};

function failure(fn: () => unknown): FinetuneError {
  try {
    fn();
  } catch (error) {
    return error as FinetuneError;
  }
  throw new Error('expected a failure');
}

describe('config layers: defaults < file < env < flags', () => {
  it('uses defaults with nothing set', () => {
    const c = loadConfig({ argv: [], env: {}, cwd: '/work' });
    expect(c.home).toMatch(/\.finetune-mcp$/);
    expect(c.http).toEqual({ host: '127.0.0.1', port: 8765, allowed_hosts: [], allowed_origins: [], session_idle_s: 1800, max_sessions: 100 });
    expect(c.allowed_roots).toEqual(['/work']);
  });

  it('lets the file override defaults, env the file, and flags the env', () => {
    const fileOnly = loadConfig({ argv: ['--config', '/cfg/a.yaml'], env: {}, readFile, cwd: '/' });
    expect(fileOnly).toMatchObject({ home: '/from-file', log_level: 'debug', http: { port: 9000 } });
    const withEnv = loadConfig({ argv: [], env: { FINETUNE_MCP_CONFIG: '/cfg/a.yaml', FINETUNE_MCP_PORT: '9100', FINETUNE_MCP_HOME: '/from-env' }, readFile, cwd: '/' });
    expect(withEnv).toMatchObject({ home: '/from-env', http: { port: 9100, host: '127.0.0.1' } });
    const withFlags = loadConfig({ argv: ['--config=/cfg/a.yaml', '--port', '9200', '--home', '/from-flag'], env: { FINETUNE_MCP_PORT: '9100' }, readFile, cwd: '/' });
    expect(withFlags).toMatchObject({ home: '/from-flag', http: { port: 9200 } });
  });

  it('names the key, the source and the fix for a bad value', () => {
    const fromEnv = failure(() => loadConfig({ argv: [], env: { FINETUNE_MCP_PORT: 'http' } }));
    expect(fromEnv.code).toBe('CONFIG_INVALID');
    expect(fromEnv.message).toContain("'http.port' (from environment variable FINETUNE_MCP_PORT)");
    expect(fromEnv.recovery).toContain("Set 'http.port' to a valid value");
    const fromFile = failure(() => loadConfig({ argv: ['--config', '/cfg/b.json'], env: {}, readFile }));
    expect(fromFile.message).toContain("'http.port' (from config file /cfg/b.json)");
    const badLevel = failure(() => loadConfig({ argv: ['--log-level', 'loud'], env: {} }));
    expect(badLevel.message).toContain("'log_level' (from command-line flags)");
    const shortToken = failure(() => loadConfig({ argv: [], env: { FINETUNE_MCP_TOKEN: 'short' } }));
    expect(shortToken.message).toContain('at least 16 characters');
  });

  it('reports unreadable and malformed files', () => {
    expect(failure(() => loadConfig({ argv: ['--config', '/cfg/missing.yaml'], env: {}, readFile })).message).toContain('Cannot read config file /cfg/missing.yaml');
    expect(failure(() => loadConfig({ argv: ['--config', '/cfg/broken.json'], env: {}, readFile })).message).toContain('is not valid JSON');
  });

  it('refuses the removed training.prices by name and source, saying where prices live now', () => {
    const old = failure(() => loadConfig({ argv: ['--config', '/cfg/old-prices.yaml'], env: {}, readFile }));
    expect(old.code).toBe('CONFIG_INVALID');
    expect(old.message).toContain("Config key 'training.prices' (from config file /cfg/old-prices.yaml) was removed");
    expect(old.message).toContain('plugins.openai.models.<model>: {token_limit, usd_per_million_training_tokens}');
    expect(old.recovery).toContain("Remove 'training.prices' from config file /cfg/old-prices.yaml");
    expect(old.details).toMatchObject({ field: 'training.prices', source: 'config file /cfg/old-prices.yaml' });
    // Given in code too (an embedding program), not only in a file.
    const inCode = failure(() => loadConfig({ argv: [], env: {}, overrides: { training: { prices: {} } } as never }));
    expect(inCode.message).toContain("'training.prices' (from overrides given in code) was removed");
  });

  it('the replacement the message names is a setting the config takes', () => {
    const config = loadConfig({ argv: ['--config', '/cfg/openai-price.yaml'], env: {}, readFile });
    // Validated by the OpenAI plugin's own schema, as the host does, and read where its quote reads prices.
    const openai = openaiPlugin.configSchema!.parse(config.plugins.openai);
    expect(lookupModel(openAIProfile(openai), 'gpt-4o-mini-2024-07-18').price?.usd_per_million_training_tokens).toBe(2.5);
  });

  it('refuses any other unknown key under training, naming it and its source', () => {
    const typo = failure(() => loadConfig({ argv: ['--config', '/cfg/typo.json'], env: {}, readFile }));
    expect(typo.code).toBe('CONFIG_INVALID');
    expect(typo.message).toBe("Config key 'training.watch_intervall_ms' (from config file /cfg/typo.json) is not a setting of 'training'.");
    expect(typo.recovery).toContain('docs/training.md');
    expect(loadConfig({ argv: [], env: {}, overrides: { training: { watch_interval_ms: 100 } } }).training.watch_interval_ms).toBe(100);
  });
});
