/**
 * Documents for generation (docs/data-generation.md): listing a user's files and folders, reading
 * Markdown, plain text, HTML and the text layer of PDFs into one text, and cutting that text into
 * chunks on headings and a token budget. Every chunk's span is an exact offset into the text.
 */
import { createHash } from 'node:crypto';
import { closeSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { FinetuneError } from '../errors.js';
import { activeRoots, canonicalPath, isInside, openForRead, readUserFile } from '../workspace/confine.js';
import { htmlToText } from './html-text.js';
import type { DocumentChunk } from './types.js';

/** A document's text as the chunker reads it: chunk spans are offsets into `text`. */
export interface DocumentText {
  file: string;
  /** Extracted text: Markdown and plain text as they are (line ends made `\n`), HTML as Markdown-style text, a PDF's pages joined by a blank line. */
  text: string;
  /** sha256 of the file's bytes, for provenance. */
  sha256: string;
  /** How the text was read (readDocument sets it). */
  format?: DocumentFormat;
  /** PDFs: pages read. */
  pages?: number;
}

type DocumentFormat = 'markdown' | 'text' | 'html' | 'pdf';

/** File name endings read as documents, and how. */
const DOCUMENT_EXTENSIONS: Record<string, DocumentFormat> = {
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.txt': 'text',
  '.html': 'html',
  '.htm': 'html',
  '.pdf': 'pdf',
};

interface DocumentLimits {
  /** Largest file read, in bytes (default 20 MiB: a 500-page handbook PDF is under 10 MiB; a larger file is most likely not prose). */
  max_file_bytes: number;
  /** Most documents one call reads (default 1,000), counted while folders are walked. */
  max_files: number;
}

const DEFAULT_DOCUMENT_LIMITS: DocumentLimits = { max_file_bytes: 20 * 1024 * 1024, max_files: 1000 };

export interface SkippedDocument {
  file: string;
  reason: string;
}

/** The documents to read, in order, and what a folder held that is not read (with why). */
type DocumentList = string[] & { skipped: SkippedDocument[] };

interface ChunkOptions {
  /** Most tokens a chunk holds (a paragraph longer than this is cut on sentences, then words). */
  chunk_tokens: number;
  count(text: string): number;
}

const SUPPORTED = Object.keys(DOCUMENT_EXTENSIONS).join(' ');

function formatOf(file: string): DocumentFormat | undefined {
  return DOCUMENT_EXTENSIONS[extname(file).toLowerCase()];
}

/**
 * The documents named by `paths` (files or folders), each resolved by `resolve` (the workspace's
 * resolveUserPath: canonical, inside the allowed roots). Folders are walked depth first in code-point
 * order of names, so the same tree always gives the same list. A named file of another kind is refused;
 * inside a folder it is skipped, with the reason in `skipped` (as are hidden entries and non-files).
 */
export function listDocuments(paths: string[], resolve: (path: string, field?: string) => string, limits: Partial<DocumentLimits> = {}): DocumentList {
  const maxFiles = limits.max_files ?? DEFAULT_DOCUMENT_LIMITS.max_files;
  const files: string[] = [];
  const skipped: SkippedDocument[] = [];
  const seen = new Set<string>();
  const visited = new Set<string>();
  const roots = activeRoots();
  // Entries looked at while walking: a folder of a million non-documents is refused, not walked for minutes.
  const maxEntries = maxFiles * 100;
  let entriesSeen = 0;
  const keep = (file: string, named: string) => {
    if (seen.has(file)) return;
    if (files.length >= maxFiles) {
      throw new FinetuneError('INVALID_INPUT', `The documents hold more than ${maxFiles} files (reached at ${file}, under '${named}').`, {
        recovery: `Name fewer files or a smaller folder (at most ${maxFiles} documents a call), or split the work into several calls.`,
        details: { file, field: 'source.documents', max_files: maxFiles },
      });
    }
    seen.add(file);
    files.push(file);
  };
  const walk = (dir: string, named: string) => {
    if (visited.has(dir)) return;
    visited.add(dir);
    const entries = readdirSync(dir, { withFileTypes: true })
      .map((e) => e.name)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    entriesSeen += entries.length;
    if (entriesSeen > maxEntries) {
      throw new FinetuneError('INVALID_INPUT', `'${named}' holds more than ${maxEntries} entries (files and folders) to look through (reached in ${dir}).`, {
        recovery: 'Name the folder that holds the documents themselves, not one far above it.',
        details: { file: dir, field: 'source.documents', max_entries: maxEntries },
      });
    }
    for (const name of entries) {
      const path = join(dir, name);
      if (name.startsWith('.')) {
        skipped.push({ file: path, reason: 'hidden' });
        continue;
      }
      let stats;
      try {
        stats = statSync(path);
      } catch (error) {
        skipped.push({ file: path, reason: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` });
        continue;
      }
      // A link inside a named folder may lead out of the allowed roots: skipped here, not refused later.
      const real = canonicalPath(path);
      if (roots && !roots.some((root) => isInside(root, real))) skipped.push({ file: path, reason: 'a link to outside the allowed roots' });
      else if (stats.isDirectory()) walk(real, named);
      else if (!stats.isFile()) skipped.push({ file: path, reason: 'not a regular file' });
      else if (!formatOf(name)) skipped.push({ file: path, reason: `not a document kind that is read (${SUPPORTED})` });
      else if (stats.size === 0) skipped.push({ file: path, reason: 'empty' });
      else keep(real, named);
    }
  };
  paths.forEach((named, i) => {
    const field = `source.documents[${i}]`;
    const path = resolve(named, field);
    let stats;
    try {
      stats = statSync(path);
    } catch {
      throw new FinetuneError('FILE_ERROR', `${field} '${named}' does not exist.`, { recovery: 'Name an existing file or folder of documents.', details: { file: named, field } });
    }
    if (stats.isDirectory()) return walk(path, named);
    if (!formatOf(path)) {
      throw new FinetuneError('INVALID_INPUT', `${field} '${named}' is not a document that can be read: supported are ${SUPPORTED}.`, {
        recovery: 'Convert it to Markdown, plain text, HTML or PDF, or leave it out of source.documents.',
        details: { file: named, field },
      });
    }
    keep(path, named);
  });
  if (!files.length) {
    throw new FinetuneError('INVALID_INPUT', `source.documents names no document to read${skipped.length ? ` (${skipped.length} entries skipped, e.g. ${basename(skipped[0].file)}: ${skipped[0].reason})` : ''}.`, {
      recovery: `Name files or folders that hold ${SUPPORTED} documents.`,
      details: { field: 'source.documents' },
    });
  }
  return Object.assign(files, { skipped });
}

function documentError(file: string, what: string, recovery: string, extra: Record<string, unknown> = {}): FinetuneError {
  return new FinetuneError('FILE_ERROR', `Document ${file} ${what}.`, { recovery, details: { file, ...extra } });
}

/**
 * Reads one document (opened through the call's allowed roots). Refuses, with the file named: a file
 * over `max_file_bytes`, a binary or non-UTF-8 text file, an empty document, a PDF that is encrypted,
 * damaged, or has no text layer (a scan).
 */
export async function readDocument(file: string, limits: Partial<DocumentLimits> = {}): Promise<DocumentText> {
  const format = formatOf(file);
  if (!format) throw new FinetuneError('INVALID_INPUT', `${file} is not a document that can be read: supported are ${SUPPORTED}.`, { details: { file } });
  const maxBytes = limits.max_file_bytes ?? DEFAULT_DOCUMENT_LIMITS.max_file_bytes;
  // The size is checked on the opened file before anything is read, so a huge file costs nothing.
  const opened = openForRead(file, 'document');
  closeSync(opened.fd);
  if (opened.size > maxBytes) {
    throw documentError(file, `is ${mib(opened.size)}, over the ${mib(maxBytes)} a document may have`, 'Split it into smaller files (by chapter), or raise the limit (max_file_bytes) for this call.', { size: opened.size, max_file_bytes: maxBytes });
  }
  const bytes = readUserFile(opened.path, 'document');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (format === 'pdf') {
    const { text, pages } = await pdfText(file, bytes);
    return { file, text, sha256, format, pages };
  }
  const decoded = decodeText(file, bytes, format);
  const text = format === 'html' ? htmlToText(decoded) : decoded;
  if (!text.trim()) throw documentError(file, format === 'html' ? 'has no text (only markup, scripts or styles)' : 'is empty', 'Leave it out, or fill it with the text to generate from.');
  return { file, text, sha256, format };
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** UTF-8 text with line ends made `\n` (the chunker reads lines); a BOM is dropped. HTML may name another charset. */
function decodeText(file: string, bytes: Buffer, format: DocumentFormat): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw documentError(file, `holds a NUL byte at byte ${nul}: it is a binary file, not ${format === 'html' ? 'HTML' : 'text'}`, 'Convert it to Markdown or plain text (or PDF with a text layer), or leave it out.', { byte: nul });
  }
  const charset = format === 'html' ? htmlCharset(bytes) : 'utf-8';
  let text: string;
  try {
    text = new TextDecoder(charset, { fatal: true }).decode(bytes);
  } catch {
    const at = charset === 'utf-8' ? firstInvalidUtf8(bytes) : undefined;
    throw documentError(file, `is not valid ${charset.toUpperCase()}${at === undefined ? '' : ` (first bad byte at ${at})`}`, 'Save it as UTF-8 (e.g. iconv -f latin1 -t utf-8), or leave it out if it is not text.', at === undefined ? {} : { byte: at });
  }
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

/** The charset an HTML file declares in its first kilobyte, when Node can decode it; else UTF-8. */
function htmlCharset(bytes: Buffer): string {
  const head = bytes.subarray(0, 1024).toString('latin1');
  const declared = /<meta[^>]+charset\s*=\s*["']?\s*([\w:.-]+)/i.exec(head)?.[1]?.toLowerCase();
  if (!declared) return 'utf-8';
  try {
    return new TextDecoder(declared).encoding;
  } catch {
    return 'utf-8';
  }
}

/** Byte offset of the first byte that breaks UTF-8 (a U+FFFD that the file did not spell as EF BF BD). */
function firstInvalidUtf8(bytes: Buffer): number | undefined {
  const text = bytes.toString('utf8');
  let byte = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i) ?? 0;
    if (code === 0xfffd && !(bytes[byte] === 0xef && bytes[byte + 1] === 0xbf && bytes[byte + 2] === 0xbd)) return byte;
    const width = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (code > 0xffff) i++;
    byte += code === 0xfffd ? 3 : width;
  }
  return undefined;
}

/** A PDF's text layer, page by page (unpdf: PDF.js built for servers, no worker, no canvas). */
async function pdfText(file: string, bytes: Buffer): Promise<{ text: string; pages: number }> {
  const { getDocumentProxy, extractText } = await import('unpdf');
  let pages: string[];
  let total: number;
  try {
    // verbosity 0: PDF.js writes its warnings with console.log, which is the MCP channel on stdio.
    const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0, isEvalSupported: false });
    try {
      const extracted = await extractText(pdf, { mergePages: false });
      pages = extracted.text;
      total = extracted.totalPages;
    } finally {
      await pdf.destroy();
    }
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'PasswordException') throw documentError(file, 'is encrypted (it needs a password to open)', 'Save an unencrypted copy (e.g. qpdf --decrypt in.pdf out.pdf) and name that.');
    throw documentError(file, `cannot be read as a PDF (${name}: ${(error as Error).message})`, 'Check that it is a complete PDF (open it in a viewer), or export it again.');
  }
  const text = pages.map((p) => p.replace(/\r\n?/g, '\n').trim()).join('\n\n');
  if (!text.trim()) {
    throw documentError(file, `has no text layer (${total} page${total === 1 ? '' : 's'} of images, e.g. a scan); OCR it first`, 'Run OCR to add a text layer (e.g. ocrmypdf in.pdf out.pdf) and name the result.', { pages: total });
  }
  return { text, pages: total };
}

type Span = [number, number];

interface Block {
  kind: 'heading' | 'text';
  span: Span;
  level?: number;
  title?: string;
}

/** Markdown blocks: ATX and setext headings, fenced code (kept whole, `#` inside is not a heading), paragraphs. */
function blocksOf(text: string): Block[] {
  const blocks: Block[] = [];
  let para: Span | null = null;
  let paraLines = 0;
  let fence: string | null = null;
  const end = () => {
    if (para) blocks.push({ kind: 'text', span: para });
    para = null;
    paraLines = 0;
  };
  const line = /[^\n]*/g;
  // YAML front matter (---, fields, ---) is metadata, not text: not read as a setext heading either.
  const frontMatter = /^---[ \t]*\n(?:[^\n]*\n)*?(?:---|\.\.\.)[ \t]*(?:\n|$)/.exec(text);
  if (frontMatter) line.lastIndex = frontMatter[0].length;
  for (let m = line.exec(text); m; m = line.exec(text)) {
    const start = m.index;
    const stop = start + m[0].length;
    const content = m[0];
    line.lastIndex = stop + 1;
    const fenceMark = /^ {0,3}(`{3,}|~{3,})/.exec(content)?.[1];
    if (fence) {
      para![1] = stop;
      if (fenceMark && fenceMark[0] === fence[0] && fenceMark.length >= fence.length && !content.trim().slice(fenceMark.length).trim()) {
        fence = null;
        end();
      }
    } else if (fenceMark) {
      end();
      fence = fenceMark;
      para = [start, stop];
    } else if (!content.trim() || (!para && /^ {0,3}([-*_=])(?:[ \t]*\1){2,}[ \t]*$/.test(content))) {
      // A blank line ends a paragraph; a thematic break (---, ***, ___) on its own is no text.
      end();
    } else {
      const atx = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/.exec(content);
      const underline = /^ {0,3}(=+|-+)[ \t]*$/.exec(content);
      if (atx) {
        end();
        blocks.push({ kind: 'heading', span: [start, stop], level: atx[1].length, title: (atx[2] ?? '').trim() });
      } else if (underline && para && paraLines === 1) {
        // Setext: one line of text underlined with = (level 1) or - (level 2).
        const titleSpan: Span = para;
        para = null;
        paraLines = 0;
        blocks.push({ kind: 'heading', span: [titleSpan[0], stop], level: underline[1][0] === '=' ? 1 : 2, title: text.slice(titleSpan[0], titleSpan[1]).trim() });
      } else if (para) {
        para[1] = stop;
        paraLines++;
      } else {
        para = [start, stop];
        paraLines = 1;
      }
    }
    if (stop >= text.length) break;
  }
  end();
  return blocks;
}

/** The span without surrounding whitespace; null when nothing is left. */
function trimSpan(text: string, [start, end]: Span): Span | null {
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  return start < end ? [start, end] : null;
}

const SENTENCES = new Intl.Segmenter('en', { granularity: 'sentence' });

/** Finer units of a span that is over budget: lines and sentences, else words, else characters. */
function finerUnits(text: string, span: Span, level: number): Span[] {
  const slice = text.slice(span[0], span[1]);
  const units: Span[] = [];
  const push = (s: number, e: number) => {
    const t = trimSpan(text, [span[0] + s, span[0] + e]);
    if (t) units.push(t);
  };
  if (level === 0) {
    let lineStart = 0;
    for (const lineMatch of slice.matchAll(/[^\n]+/g)) {
      lineStart = lineMatch.index;
      for (const s of SENTENCES.segment(lineMatch[0])) push(lineStart + s.index, lineStart + s.index + s.segment.length);
    }
  } else if (level === 1) {
    for (const w of slice.matchAll(/\S+/g)) push(w.index, w.index + w[0].length);
  } else {
    // Characters, never splitting a surrogate pair.
    let i = 0;
    for (const ch of slice) {
      units.push([span[0] + i, span[0] + i + ch.length]);
      i += ch.length;
    }
  }
  return units;
}

/**
 * Cuts `units` (in order) into runs whose text fits the budget, each run as long as it can be: the end of
 * a run is found by galloping then bisecting, so a long paragraph costs a few counts a chunk, not one a
 * word. A unit that alone is over budget is cut into finer units.
 */
function packUnits(text: string, units: Span[], fits: (span: Span) => boolean, level: number, out: Span[]): void {
  let i = 0;
  while (i < units.length) {
    const start = units[i][0];
    if (!fits([start, units[i][1]])) {
      // Over budget alone: cut finer (sentences, words, characters); one character over budget goes out as it is.
      if (level <= 2) packUnits(text, finerUnits(text, units[i], level), fits, level + 1, out);
      else out.push(units[i]);
      i++;
      continue;
    }
    let good = i;
    let step = 1;
    while (good + step < units.length && fits([start, units[good + step][1]])) {
      good += step;
      step *= 2;
    }
    let lo = good + 1;
    let hi = Math.min(good + step, units.length) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (fits([start, units[mid][1]])) {
        good = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    out.push([start, units[good][1]]);
    i = good + 1;
  }
}

/**
 * Cuts a document on Markdown headings (ATX `#` and setext), then packs its paragraphs into chunks of
 * at most `chunk_tokens` by `count` (the target model's tokenizer). A paragraph over the budget is cut
 * on sentences (and lines), a sentence over it on words, a word over it on characters. Each chunk
 * carries the headings above it and its span: `doc.text.slice(...span) === chunk.text`.
 */
export function chunkDocument(doc: DocumentText, options: ChunkOptions): DocumentChunk[] {
  if (!Number.isInteger(options.chunk_tokens) || options.chunk_tokens < 1) {
    throw new FinetuneError('INVALID_INPUT', `chunk_tokens must be a positive whole number of tokens, got ${options.chunk_tokens}.`, { details: { field: 'source.chunk_tokens' } });
  }
  const { text } = doc;
  const fits = (span: Span) => options.count(text.slice(span[0], span[1])) <= options.chunk_tokens;
  const chunks: DocumentChunk[] = [];
  const headings: Array<string | undefined> = [];
  let section: Span[] = [];
  const flush = () => {
    const spans: Span[] = [];
    packUnits(text, section, fits, 0, spans);
    const path = headings.filter((h): h is string => !!h);
    for (const span of spans) {
      const chunkText = text.slice(span[0], span[1]);
      chunks.push({ file: doc.file, index: chunks.length, heading_path: path, text: chunkText, span, tokens: options.count(chunkText) });
    }
    section = [];
  };
  for (const block of blocksOf(text)) {
    if (block.kind === 'heading') {
      flush();
      headings.length = block.level! - 1;
      headings[block.level! - 1] = block.title || undefined;
      continue;
    }
    const span = trimSpan(text, block.span);
    if (span) section.push(span);
  }
  flush();
  return chunks;
}
