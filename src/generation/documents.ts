import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { DocumentChunk } from './types.js';

/** A document's text as the chunker reads it: chunk spans are offsets into `text`. */
export interface DocumentText {
  file: string;
  /** Extracted text (Markdown and plain text as they are). */
  text: string;
  /** sha256 of the file's bytes, for provenance. */
  sha256: string;
}

export interface ChunkOptions {
  /** Most tokens a chunk holds (a paragraph longer than this is cut on sentences, then words). */
  chunk_tokens: number;
  count(text: string): number;
}

/** Reads one document. Contract version: Markdown and plain text; the documents helper adds HTML, PDF and the checks. */
export function readDocument(file: string): DocumentText {
  const bytes = readFileSync(file);
  return { file, text: bytes.toString('utf8'), sha256: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * Cuts a document on Markdown headings, then packs paragraphs into chunks of at most
 * `chunk_tokens`. Each chunk carries the headings above it and its character span.
 */
export function chunkDocument(doc: DocumentText, options: ChunkOptions): DocumentChunk[] {
  const chunks: DocumentChunk[] = [];
  const headings: string[] = [];
  let start = -1;
  let end = -1;
  const flush = () => {
    if (start < 0) return;
    const text = doc.text.slice(start, end).trim();
    if (text) chunks.push({ file: doc.file, index: chunks.length, heading_path: [...headings], text, span: [start, end], tokens: options.count(text) });
    start = end = -1;
  };
  const paragraph = /[^\n]+(?:\n[^\n]+)*/g;
  for (let match = paragraph.exec(doc.text); match; match = paragraph.exec(doc.text)) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(match[0]);
    if (heading) {
      flush();
      headings.length = heading[1].length - 1;
      headings[heading[1].length - 1] = heading[2].trim();
      continue;
    }
    const paraEnd = match.index + match[0].length;
    if (start >= 0 && options.count(doc.text.slice(start, paraEnd)) > options.chunk_tokens) flush();
    if (start < 0) start = match.index;
    end = paraEnd;
  }
  flush();
  return chunks;
}
