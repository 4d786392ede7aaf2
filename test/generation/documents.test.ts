import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openAiCounter } from '../../src/datasets/tokenizers.js';
import { FinetuneError } from '../../src/errors.js';
import { chunkDocument, listDocuments, readDocument, type DocumentText } from '../../src/generation/documents.js';
import { withRoots } from '../../src/workspace/confine.js';
import { tinyPdf } from '../helpers/tiny-pdf.js';

const HANDBOOK = resolve(__dirname, '../../examples/handbook');
const dir = mkdtempSync(join(tmpdir(), 'ftm-docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A counter of whitespace-separated words: exact, so budgets can be checked by hand. */
const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
const same = (p: string) => p;

function write(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

async function refusal(promise: Promise<unknown> | (() => unknown)): Promise<FinetuneError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    expect(error).toBeInstanceOf(FinetuneError);
    return error as FinetuneError;
  }
  throw new Error('expected a refusal');
}

function doc(text: string): DocumentText {
  return { file: 'mem.md', text, sha256: '', format: 'markdown' };
}

describe('listDocuments', () => {
  it('walks folders in name order, keeps documents and says why the rest is skipped', () => {
    const root = join(dir, 'tree');
    write('tree/b.md', '# B\n\ntext');
    write('tree/a.txt', 'plain');
    write('tree/sub/c.html', '<p>c</p>');
    write('tree/sub/D.PDF', tinyPdf([{ lines: ['d'] }]));
    write('tree/logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    write('tree/.notes.md', 'hidden');
    write('tree/empty.md', '');
    const list = listDocuments([root], same);
    expect([...list]).toEqual([join(root, 'a.txt'), join(root, 'b.md'), join(root, 'sub/D.PDF'), join(root, 'sub/c.html')]);
    expect(list.skipped).toEqual([
      { file: join(root, '.notes.md'), reason: 'hidden' },
      { file: join(root, 'empty.md'), reason: 'empty' },
      { file: join(root, 'logo.png'), reason: expect.stringContaining('not a document kind') },
    ]);
  });

  it('keeps named files in the order given, once each, and lists the handbook', () => {
    const b = write('order/b.md', 'b');
    const a = write('order/a.md', 'a');
    expect([...listDocuments([b, a, join(dir, 'order'), b], same)]).toEqual([b, a]);
    expect(listDocuments([HANDBOOK], same).map((f) => f.slice(HANDBOOK.length + 1))).toEqual([
      '01-accounts-and-plans.md',
      '02-billing-and-refunds.md',
      '03-troubleshooting.md',
      '04-privacy-and-security.md',
    ]);
  });

  it('passes every named path through resolve with its field', () => {
    const seen: string[] = [];
    listDocuments([HANDBOOK], (p, field) => (seen.push(`${field}=${p}`), p));
    expect(seen).toEqual([`source.documents[0]=${HANDBOOK}`]);
  });

  it('skips links inside a folder that lead out of the call roots, and refuses a folder too large to look through', async () => {
    const inside = join(dir, 'linked');
    write('linked/own.md', '# Own');
    symlinkSync(HANDBOOK, join(inside, 'handbook'));
    symlinkSync(join(HANDBOOK, '01-accounts-and-plans.md'), join(inside, 'plans.md'));
    const list = withRoots([dir], () => listDocuments([inside], same));
    expect([...list]).toEqual([join(inside, 'own.md')]);
    expect(list.skipped).toEqual([
      { file: join(inside, 'handbook'), reason: 'a link to outside the allowed roots' },
      { file: join(inside, 'plans.md'), reason: 'a link to outside the allowed roots' },
    ]);
    // With the handbook allowed too, the links are followed; a file reached twice is listed once, by its real path.
    const followed = withRoots([dir, HANDBOOK], () => listDocuments([inside], same));
    expect([...followed]).toEqual([...listDocuments([HANDBOOK], same), join(inside, 'own.md')]);
    for (let i = 0; i < 101; i++) write(`crowded/f${i}.png`, 'x');
    const crowded = await refusal(() => listDocuments([join(dir, 'crowded')], same, { max_files: 1 }));
    expect(crowded.message).toContain('more than 100 entries');
    expect(crowded.details).toMatchObject({ file: join(dir, 'crowded'), max_entries: 100 });
  });

  it('refuses a named file of another kind, a missing path, an empty folder and too many files', async () => {
    const png = write('refuse/logo.png', 'x');
    const kind = await refusal(() => listDocuments([png], same));
    expect(kind.code).toBe('INVALID_INPUT');
    expect(kind.details).toMatchObject({ file: png, field: 'source.documents[0]' });
    expect(kind.message).toContain('.md .markdown .txt .html .htm .pdf');
    const missing = await refusal(() => listDocuments([join(dir, 'nope')], same));
    expect(missing.code).toBe('FILE_ERROR');
    expect(missing.details.file).toBe(join(dir, 'nope'));
    const none = await refusal(() => listDocuments([join(dir, 'refuse')], same));
    expect(none.message).toMatch(/names no document .*logo\.png: not a document kind/);
    const many = await refusal(() => listDocuments([HANDBOOK], same, { max_files: 3 }));
    expect(many.message).toContain('more than 3 files');
    expect(many.details).toMatchObject({ file: join(HANDBOOK, '04-privacy-and-security.md'), max_files: 3 });
  });
});

describe('readDocument', () => {
  it('reads Markdown as it is, with its sha256; CRLF line ends and a BOM are normalised', async () => {
    const file = join(HANDBOOK, '02-billing-and-refunds.md');
    const read = await readDocument(file);
    const bytes = readFileSync(file);
    expect(read).toMatchObject({ file, format: 'markdown', text: bytes.toString('utf8'), sha256: createHash('sha256').update(bytes).digest('hex') });
    const crlf = await readDocument(write('crlf.txt', '\uFEFFLine one\r\nLine two\rLine three\r\n'));
    expect(crlf.text).toBe('Line one\nLine two\nLine three\n');
    expect(crlf.format).toBe('text');
  });

  it('reads HTML as Markdown-style text: headings, paragraphs, lists; scripts and styles dropped', async () => {
    const file = write(
      'page.html',
      `<!doctype html><html><head><title>Ignored</title><style>h1 { color: red }</style></head><body>
       <h1>Returns &amp; refunds</h1><script>document.write("<p>not text</p>")</script>
       <p>Items can be   returned
       within <b>30 days</b>.</p>
       <h3>Opened items</h3><ul><li>Books</li><li>Software <a href="#x">keys</a></li></ul>
       <table><tr><th>Plan</th><th>Days</th></tr><tr><td>Team</td><td>30</td></tr></table>
       <pre>keep
  spacing</pre></body></html>`,
    );
    const read = await readDocument(file);
    expect(read.format).toBe('html');
    expect(read.text).toBe('# Returns & refunds\n\nItems can be returned within 30 days.\n\n### Opened items\n\n- Books\n- Software keys\n\nPlan | Days\nTeam | 30\n\nkeep\n  spacing');
    const chunks = chunkDocument(read, { chunk_tokens: 100, count: words });
    expect(chunks.map((c) => c.heading_path)).toEqual([['Returns & refunds'], ['Returns & refunds', 'Opened items']]);
  });

  it('decodes HTML in the charset it declares', async () => {
    const latin1 = Buffer.concat([Buffer.from('<meta charset="iso-8859-1"><p>Caf'), Buffer.from([0xe9]), Buffer.from(' cr'), Buffer.from([0xe8]), Buffer.from('me</p>')]);
    expect((await readDocument(write('latin1.html', latin1))).text).toBe('Café crème');
  });

  it('reads the text layer of a PDF, page by page', async () => {
    const file = write('guide.pdf', tinyPdf([{ lines: ['Refund policy', 'Yearly plans are refunded within 30 days (in full).'] }, { lines: ['Page two: monthly plans are not refunded.'] }]));
    const read = await readDocument(file);
    expect(read).toMatchObject({ format: 'pdf', pages: 2 });
    expect(read.text).toBe('Refund policy\nYearly plans are refunded within 30 days (in full).\n\nPage two: monthly plans are not refunded.');
    const chunks = chunkDocument(read, { chunk_tokens: 12, count: words });
    expect(chunks.map((c) => read.text.slice(...c.span))).toEqual(chunks.map((c) => c.text));
    expect(chunks.length).toBeGreaterThan(1);
  });

  it('refuses a scanned PDF, an encrypted one and a damaged one, naming the file; PDF.js writes nothing to stdout', async () => {
    const log = vi.spyOn(console, 'log');
    try {
      const scan = write('scan.pdf', tinyPdf([{}, {}]));
      const noText = await refusal(readDocument(scan));
      expect(noText.code).toBe('FILE_ERROR');
      expect(noText.message).toContain('no text layer (2 pages of images, e.g. a scan); OCR it first');
      expect(noText.details).toMatchObject({ file: scan, pages: 2 });
      expect(noText.recovery).toContain('OCR');
      const locked = write('locked.pdf', tinyPdf([{ lines: ['secret'] }], { encrypted: true }));
      const encrypted = await refusal(readDocument(locked));
      expect(encrypted.message).toContain('is encrypted');
      expect(encrypted.details.file).toBe(locked);
      const torn = tinyPdf([{ lines: ['cut short'] }]);
      const damaged = await refusal(readDocument(write('torn.pdf', Buffer.concat([Buffer.from('%PDF-1.4\n'), torn.subarray(torn.length / 2, torn.length / 2 + 40)]))));
      expect(damaged.message).toMatch(/torn\.pdf cannot be read as a PDF \(InvalidPDFException/);
      expect(log).not.toHaveBeenCalled();
    } finally {
      log.mockRestore();
    }
  });

  it('refuses binary files, invalid UTF-8 and empty documents, saying where', async () => {
    const binary = await refusal(readDocument(write('data.txt', Buffer.from([0x41, 0x42, 0x00, 0x01]))));
    expect(binary.message).toContain('NUL byte at byte 2: it is a binary file');
    expect(binary.details).toMatchObject({ file: join(dir, 'data.txt'), byte: 2 });
    const bad = await refusal(readDocument(write('latin.md', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]))));
    expect(bad.message).toContain('is not valid UTF-8 (first bad byte at 3)');
    expect(bad.recovery).toContain('UTF-8');
    const blank = await refusal(readDocument(write('blank.md', ' \n\n\t\n')));
    expect(blank.message).toContain('is empty');
    const markup = await refusal(readDocument(write('markup.html', '<html><head><script>x()</script></head><body><style>p{}</style></body></html>')));
    expect(markup.message).toContain('has no text');
  });

  it('refuses a file over the size cap (default 20 MiB) before reading it', async () => {
    const huge = write('huge.md', '');
    truncateSync(huge, 21 * 1024 * 1024);
    const error = await refusal(readDocument(huge));
    expect(error.message).toContain('is 21.0 MiB, over the 20.0 MiB a document may have');
    expect(error.details).toMatchObject({ file: huge, size: 21 * 1024 * 1024, max_file_bytes: 20 * 1024 * 1024 });
    const small = await refusal(readDocument(join(HANDBOOK, '01-accounts-and-plans.md'), { max_file_bytes: 1000 }));
    expect(small.details.max_file_bytes).toBe(1000);
  });

  it('opens files through the call roots', async () => {
    const outside = await refusal(withRoots([join(dir, 'tree')], () => readDocument(join(HANDBOOK, '01-accounts-and-plans.md'))));
    expect(outside.code).toBe('PATH_NOT_ALLOWED');
    const inside = await withRoots([HANDBOOK], () => readDocument(join(HANDBOOK, '01-accounts-and-plans.md')));
    expect(inside.text).toContain('# Accounts and plans');
  });
});

describe('chunkDocument', () => {
  it('cuts the handbook on headings within the budget of the target tokenizer; spans are exact', async () => {
    const counter = await openAiCounter('gpt-4o-mini');
    const count = (t: string) => counter.count(t);
    for (const file of listDocuments([HANDBOOK], same)) {
      const read = await readDocument(file);
      for (const budget of [40, 120, 400]) {
        const chunks = chunkDocument(read, { chunk_tokens: budget, count });
        expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
        for (const c of chunks) {
          expect(read.text.slice(c.span[0], c.span[1])).toBe(c.text);
          expect(c.tokens).toBe(count(c.text));
          expect(c.tokens).toBeLessThanOrEqual(budget);
          expect(c.file).toBe(file);
          expect(c.text).toBe(c.text.trim());
        }
        // Nothing is lost: the chunks hold every word of the document but its heading lines.
        const body = read.text.split('\n').filter((l) => !/^#{1,6} /.test(l)).join('\n');
        expect(chunks.map((c) => c.text).join(' ').split(/\s+/)).toEqual(body.split(/\s+/).filter(Boolean));
        // Spans are in order and do not overlap.
        chunks.slice(1).forEach((c, i) => expect(c.span[0]).toBeGreaterThanOrEqual(chunks[i].span[1]));
      }
    }
    const billing = chunkDocument(await readDocument(join(HANDBOOK, '02-billing-and-refunds.md')), { chunk_tokens: 400, count });
    expect(billing.map((c) => c.heading_path.join(' > '))).toEqual([
      'Billing and refunds > How billing works',
      'Billing and refunds > Failed payments',
      'Billing and refunds > Refunds > Yearly plans',
      'Billing and refunds > Refunds > Monthly plans',
      'Billing and refunds > Refunds > Exceptions',
      'Billing and refunds > Changing plans',
    ]);
    expect(billing[2].text).toMatch(/^A customer who cancels a yearly plan within 30 days/);
  });

  it('packs paragraphs up to the budget and starts a new chunk at each heading', () => {
    const text = '# Top\n\none two three\n\nfour five\n\nsix seven eight nine\n\n## Sub\n\nten eleven';
    const chunks = chunkDocument(doc(text), { chunk_tokens: 6, count: words });
    expect(chunks.map((c) => [c.text, c.heading_path, c.tokens])).toEqual([
      ['one two three\n\nfour five', ['Top'], 5],
      ['six seven eight nine', ['Top'], 4],
      ['ten eleven', ['Top', 'Sub'], 2],
    ]);
    expect(text.slice(...chunks[0].span)).toBe('one two three\n\nfour five');
  });

  it('cuts a long paragraph on sentences, a long sentence on words, a long word on characters', () => {
    const para = 'First sentence is here. Second one follows it. Third closes the paragraph.';
    const bySentence = chunkDocument(doc(para), { chunk_tokens: 9, count: words });
    expect(bySentence.map((c) => c.text)).toEqual(['First sentence is here. Second one follows it.', 'Third closes the paragraph.']);
    const byWord = chunkDocument(doc('one two three four five six seven eight nine ten'), { chunk_tokens: 4, count: words });
    expect(byWord.map((c) => c.text)).toEqual(['one two three four', 'five six seven eight', 'nine ten']);
    const chars = (t: string) => [...t].length;
    const longWord = chunkDocument(doc('ab ' + 'x'.repeat(10) + '😀y'), { chunk_tokens: 4, count: chars });
    expect(longWord.map((c) => c.text)).toEqual(['ab', 'xxxx', 'xxxx', 'xx😀y']);
    for (const c of longWord) expect(chars(c.text)).toBeLessThanOrEqual(4);
  });

  it('reads setext headings, ignores # inside code fences and keeps heading paths without holes', () => {
    const text = 'Guide\n=====\n\nIntro text.\n\n```sh\n# not a heading\necho hi\n```\n\nInstall\n-------\n\nRun it.\n\n#### Deep\n\nDeep text.';
    const chunks = chunkDocument(doc(text), { chunk_tokens: 5, count: words });
    expect(chunks.map((c) => [c.text, c.heading_path])).toEqual([
      ['Intro text.', ['Guide']],
      ['```sh\n# not a heading', ['Guide']],
      ['echo hi\n```', ['Guide']],
      ['Run it.', ['Guide', 'Install']],
      ['Deep text.', ['Guide', 'Install', 'Deep']],
    ]);
  });

  it('leaves out YAML front matter and thematic breaks', () => {
    const text = '---\ntitle: Guide\ntags: [a]\n---\n# Guide\n\nFirst part.\n\n---\n\n***\n\nSecond part.';
    const chunks = chunkDocument(doc(text), { chunk_tokens: 100, count: words });
    expect(chunks.map((c) => [c.text, c.heading_path])).toEqual([['First part.\n\n---\n\n***\n\nSecond part.', ['Guide']]]);
    const small = chunkDocument(doc(text), { chunk_tokens: 2, count: words });
    expect(small.map((c) => c.text)).toEqual(['First part.', 'Second part.']);
  });

  it('refuses a budget that is not a positive whole number', async () => {
    const error = await refusal(() => chunkDocument(doc('text'), { chunk_tokens: 0, count: words }));
    expect(error.details.field).toBe('source.chunk_tokens');
  });

  it('costs a few counts a chunk on a long unbroken paragraph (galloping search, not one count a word)', () => {
    let counts = 0;
    const text = Array.from({ length: 20000 }, (_, i) => `w${i}`).join(' ');
    const chunks = chunkDocument(doc(text), { chunk_tokens: 100, count: (t) => (counts++, words(t)) });
    expect(chunks).toHaveLength(200);
    expect(counts / chunks.length).toBeLessThan(30);
  });
});
