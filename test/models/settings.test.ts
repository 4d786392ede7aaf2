import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('models config section', () => {
  it('defaults to no hub_url, takes HF_ENDPOINT from the environment, and refuses a non-URL', () => {
    expect(loadConfig({ argv: ['--home', '/tmp/x'], env: {} }).models.hub_url).toBeUndefined();
    expect(loadConfig({ argv: ['--home', '/tmp/x'], env: { HF_ENDPOINT: 'http://127.0.0.1:9999' } }).models.hub_url).toBe('http://127.0.0.1:9999');
    expect(() => loadConfig({ argv: ['--home', '/tmp/x'], env: { HF_ENDPOINT: 'not a url' } })).toThrow(/models.hub_url.*HF_ENDPOINT/);
  });
});
