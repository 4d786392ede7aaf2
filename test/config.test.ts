import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { FinetuneError } from '../src/errors.js';

const files: Record<string, string> = {
  '/cfg/a.yaml': 'home: /from-file\nhttp:\n  port: 9000\n  host: 127.0.0.1\nlog_level: debug\n',
  '/cfg/b.json': '{"http": {"port": "eighty"}}',
  '/cfg/broken.json': '{"http": ',
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
});
