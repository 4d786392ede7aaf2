import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDatasetTool } from '../../tools/prepare-dataset.js';
import { validateDatasetTool } from '../../tools/validate-dataset.js';
import { errorCode, resultText, type TestClient } from '../helpers/mcp.js';
import { datasetClient, fixture } from './helpers.js';

/** Issue 12 item 6: a <|endoftext|>-separated text file is not one row with a misleading fix. */
const STORIES = fixture('TinyStories-valid.head.txt');

describe('plain text joined by an end-of-document token', () => {
  let t: TestClient;
  beforeAll(async () => {
    t = await datasetClient();
  });
  afterAll(async () => t?.close());

  it('prepare_dataset refuses to read it as one row and names text_separator', async () => {
    const result = await t.call(prepareDatasetTool.name, { path: STORIES });
    expect(result.isError).toBe(true);
    expect(errorCode(result)).toBe('DATASET_INVALID');
    expect(resultText(result)).toContain('text_separator "<|endoftext|>"');
    // SOURCE.md: 46 <|endoftext|>-terminated stories.
    const split = await t.callOk(prepareDatasetTool, { path: STORIES, text_separator: '<|endoftext|>' });
    expect(split.counts.rows).toBe(46);
    expect(split.validation.errors).toBe(0);
    // Asked for explicitly, the file still imports whole.
    const whole = await t.callOk(prepareDatasetTool, { path: STORIES, text_separator: '' });
    expect(whole.counts.rows).toBe(1);
  });

  it('validate_dataset says how many documents were joined and suggests text_separator, not removing the token', async () => {
    const out = await t.callOk(validateDatasetTool, { path: STORIES });
    expect(out.summary.by_code).toEqual({ document_separator_in_text: 1 });
    expect(out.issues[0].message).toBe('Text holds <|endoftext|> 46 time(s): about 46 documents read as one row.');
    expect(out.issues[0].fix).toMatch(/^Import the file again with text_separator "<\|endoftext\|>"/);
  });

  it('a file of one tweet a line (no blank line) is refused as one row, naming text_separator "\\n"; with it each line is a row', async () => {
    const tweets = fixture('tweeteval_emotion_val_text.head40.txt');
    const refused = await t.call(prepareDatasetTool.name, { path: tweets });
    expect(errorCode(refused)).toBe('DATASET_INVALID');
    expect(resultText(refused)).toMatch(/no blank line between its 40 lines[\s\S]*text_separator "\\n"/);
    const lines = await t.callOk(prepareDatasetTool, { path: tweets, text_separator: '\n' });
    expect(lines.counts.rows).toBe(40);
    expect(lines.task_type).toBe('text');
    // a CLI passes the two characters \n: they mean the same (these tweets hold that text literally)
    expect((await t.callOk(prepareDatasetTool, { path: tweets, text_separator: '\\n' })).counts.rows).toBe(40);
    const whole = await t.callOk(prepareDatasetTool, { path: tweets, text_separator: '' });
    expect(whole.counts.rows).toBe(1);
  });
});
