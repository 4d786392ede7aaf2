import { throwIfCancelled } from './cancel.js';
import { closeSync, readSync } from 'node:fs';
import { openForRead } from '../workspace/confine.js';

export interface RawLine {
  /** 1-based line number in the file. */
  line: number;
  /**
   * The line's bytes without the newline (and without a trailing \r); empty when `too_long`.
   * A view into a reused buffer: valid only until the next batch is requested.
   */
  bytes: Buffer;
  /** Length of the line in bytes, also when it was too long to keep. */
  byte_length: number;
  too_long: boolean;
}

interface ReadLinesOptions {
  /** Lines longer than this are reported as too long and skipped, never held in memory. */
  maxLineBytes: number;
  chunkBytes?: number;
  signal?: AbortSignal;
  /** Byte range to read, [start, end): a range starts at a line start (no BOM check past byte 0). */
  start?: number;
  end?: number;
  /** Called with the bytes read so far, once per chunk. */
  onProgress?: (bytesRead: number) => void;
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Streams a file line by line (see readLineBatches). */
export async function* readLines(path: string, options: ReadLinesOptions): AsyncGenerator<RawLine> {
  for await (const batch of readLineBatches(path, options)) yield* batch;
}

/**
 * Streams a file's lines in fixed-size chunks, so memory stays bounded whatever the file size; each
 * chunk's lines come as one batch (one await per chunk instead of per line, which dominated the cost).
 * Blank lines are yielded too (callers decide what they mean); a UTF-8 BOM at the start is dropped.
 */
export async function* readLineBatches(path: string, options: ReadLinesOptions): AsyncGenerator<RawLine[]> {
  // 64 KiB: a chunk's lines stay alive while the caller works through them; with 1 MiB, young GCs
  // copied them all (validation of a chat file ran ~25% slower).
  const chunkBytes = options.chunkBytes ?? 1 << 16;
  // Synchronous reads: no thread-pool round trip per chunk (the wait dominated wall time on a
  // busy machine); a chunk from the page cache blocks the event loop for well under a millisecond.
  const { fd } = openForRead(path); // confined, verified after the open, never a FIFO (src/workspace/confine.ts)
  try {
    const chunk = Buffer.allocUnsafe(chunkBytes);
    let carry: Buffer[] = [];
    let carryLength = 0;
    let skipping = false;
    let lineNo = 1;
    let bytesRead = 0;
    let position = options.start ?? 0;
    const end = options.end ?? Infinity;
    let first = position === 0;
    let batch: RawLine[] = [];
    for (;;) {
      if (batch.length) {
        yield batch;
        batch = [];
      }
      throwIfCancelled(options.signal);
      // Let the event loop run once a chunk: cancellations and progress notifications get through.
      await new Promise((resolve) => setImmediate(resolve));
      const n = position >= end ? 0 : readSync(fd, chunk, 0, Math.min(chunkBytes, end - position), position);
      if (n === 0) break;
      position += n;
      bytesRead += n;
      options.onProgress?.(bytesRead);
      let start = 0;
      if (first) {
        first = false;
        if (n >= 3 && UTF8_BOM.every((b, i) => chunk[i] === b)) start = 3;
      }
      for (;;) {
        const nl = chunk.indexOf(NEWLINE, start);
        const end = nl === -1 || nl >= n ? n : nl;
        const pieceLength = end - start;
        if (!skipping) {
          if (carryLength + pieceLength > options.maxLineBytes) {
            skipping = true;
            carryLength += pieceLength;
            carry = [];
          } else if (nl !== -1 && nl < n) {
            const piece = chunk.subarray(start, end);
            const bytes = carry.length ? Buffer.concat([...carry, piece]) : piece;
            batch.push({ line: lineNo, bytes: trimCr(bytes), byte_length: carryLength + pieceLength, too_long: false });
            carry = [];
            carryLength = 0;
          } else {
            carry.push(Buffer.from(chunk.subarray(start, end)));
            carryLength += pieceLength;
          }
        } else {
          carryLength += pieceLength;
        }
        if (nl === -1 || nl >= n) break;
        if (skipping) {
          batch.push({ line: lineNo, bytes: Buffer.alloc(0), byte_length: carryLength, too_long: true });
          skipping = false;
          carry = [];
          carryLength = 0;
        }
        lineNo++;
        start = nl + 1;
      }
    }
    if (skipping) batch.push({ line: lineNo, bytes: Buffer.alloc(0), byte_length: carryLength, too_long: true });
    else if (carryLength > 0) batch.push({ line: lineNo, bytes: trimCr(Buffer.concat(carry)), byte_length: carryLength, too_long: false });
    if (batch.length) yield batch;
  } finally {
    closeSync(fd);
  }
}

function trimCr(bytes: Buffer): Buffer {
  return bytes.length && bytes[bytes.length - 1] === CR ? bytes.subarray(0, bytes.length - 1) : bytes;
}
