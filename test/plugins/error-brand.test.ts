import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FinetuneError, isFinetuneError, toFinetuneError } from '../../src/errors.js';
import { definePlugin, PLUGIN_API_VERSION } from '../../src/plugins/types.js';
import { connectTestClient, type TestClient } from '../helpers/mcp.js';

/** A second copy of src/errors.ts (and what it imports), loaded from another path: what a plugin bundling its own finetune-mcp throws. */
async function foreignErrorsModule(folder: string): Promise<typeof import('../../src/errors.js')> {
  const src = new URL('../../src/', import.meta.url).pathname;
  mkdirSync(join(folder, 'observability'), { recursive: true });
  copyFileSync(join(src, 'errors.ts'), join(folder, 'errors.ts'));
  copyFileSync(join(src, 'observability', 'secrets.ts'), join(folder, 'observability', 'secrets.ts'));
  return (await import(join(folder, 'errors.ts'))) as typeof import('../../src/errors.js');
}

describe('FinetuneError from another copy of the package', () => {
  const folder = mkdtempSync(join(tmpdir(), 'foreign-errors-'));
  let t: TestClient | undefined;
  afterAll(async () => {
    await t?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('keeps its code and recovery through toFinetuneError and reaches the agent as [CODE] … Recovery: …', async () => {
    const foreign = await foreignErrorsModule(folder);
    const thrown = new foreign.FinetuneError('QUOTA_EXCEEDED', 'Acme says the monthly GPU quota is used up.', { recovery: 'Raise the Acme quota at acme.example/billing.' });
    expect(thrown).not.toBeInstanceOf(FinetuneError); // truly a second class
    expect(isFinetuneError(thrown)).toBe(true);
    const ours = toFinetuneError(thrown);
    expect(ours).toBeInstanceOf(FinetuneError);
    expect({ code: ours.code, recovery: ours.recovery, message: ours.message }).toEqual({
      code: 'QUOTA_EXCEEDED',
      recovery: 'Raise the Acme quota at acme.example/billing.',
      message: 'Acme says the monthly GPU quota is used up.',
    });

    const plugin = definePlugin({
      meta: { name: 'foreign-source', version: '1.0.0', api_version: PLUGIN_API_VERSION, description: 'throws errors of its own copy' },
      provides: ['data_source'],
      capabilities: {},
      create: () => ({
        data_source: {
          // eslint-disable-next-line require-yield
          async *extract() {
            throw thrown;
          },
        },
      }),
    });
    t = await connectTestClient({ plugins: [plugin] });
    const result = await t.call('extract_dataset', { source: 'foreign-source', query: {} });
    expect(result.isError).toBe(true);
    const text = (result.content as Array<{ type: string; text: string }>)[0].text;
    expect(text).toBe('[QUOTA_EXCEEDED] Acme says the monthly GPU quota is used up.\nRecovery: Raise the Acme quota at acme.example/billing.');
  });

  it('an object that only looks like one (a code outside ERROR_CODES, or no brand) is not taken for one', () => {
    expect(isFinetuneError({ code: 'QUOTA_EXCEEDED', message: 'no brand' })).toBe(false);
    expect(isFinetuneError({ [Symbol.for('finetune-mcp.error')]: true, code: 'MADE_UP' })).toBe(false);
    expect(toFinetuneError({ code: 'QUOTA_EXCEEDED' }).code).toBe('INTERNAL');
  });
});
