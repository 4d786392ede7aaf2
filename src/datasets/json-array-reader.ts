import { throwIfCancelled } from './cancel.js';
import { closeSync, readSync } from 'node:fs';
import { openForRead } from '../workspace/confine.js';

/** One top-level element of a JSON array, located in the file. */
interface RawElement {
  /** 0-based position in the array. */
  index: number;
  /** 1-based line of the element's first byte. */
  line: number;
  /** Byte offset of the element's first byte in the file. */
  offset: number;
  /**
   * The element's bytes (trailing whitespace included) are `buffer[start, end)`; none when `too_long`.
   * The buffer is reused: valid only until the next batch is requested. (Not a subarray per element:
   * making one cost 10x the whole scan of an array of `{}`.)
   */
  buffer: Buffer;
  start: number;
  end: number;
  /** No byte ≥ 0x80: the bytes are their own Latin-1 decoding. */
  ascii: boolean;
  byte_length: number;
  too_long: boolean;
}

/** Where the array's structure broke (not closed, a missing element, bytes after `]`): reading stops there. */
interface ArrayProblem {
  line: number;
  offset: number;
  /** The element the problem is in or before. */
  index: number;
  message: string;
}

export type ArrayBatch = { elements: RawElement[]; problem?: ArrayProblem };

interface ReadArrayOptions {
  /** Elements longer than this are reported as too long and skipped, never held in memory. */
  maxElementBytes: number;
  chunkBytes?: number;
  signal?: AbortSignal;
  onProgress?: (bytesRead: number) => void;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function isSpace(c: number): boolean {
  return c === 0x20 || c === NEWLINE || c === 0x0d || c === 0x09;
}

/** The first byte of a file that is not whitespace or a UTF-8 BOM, or -1 when there is none in its first 64 KiB. */
export function firstJsonByte(path: string): number {
  const { fd } = openForRead(path);
  try {
    const head = Buffer.allocUnsafe(65536);
    const n = readSync(fd, head, 0, head.length, 0);
    const start = n >= 3 && head.subarray(0, 3).equals(UTF8_BOM) ? 3 : 0;
    for (let i = start; i < n; i++) if (!isSpace(head[i])) return head[i];
    return -1;
  } finally {
    closeSync(fd);
  }
}

const BEFORE = 0;
const FIRST = 1;
const NEXT = 2;
const ELEMENT = 3;
const END = 4;

/**
 * Streams the top-level elements of a file that holds one JSON array, in fixed-size chunks, so memory
 * stays bounded by the largest element whatever the file size (JSON.parse of a whole 133 MB array of
 * `{}` took 4.9 GB). An element ends at a `,` or `]` outside strings at depth 0 (brackets are counted,
 * not matched: JSON.parse of the element checks its syntax). Each chunk's elements come as one batch,
 * and the event loop runs once a chunk. A broken structure ends the stream with a `problem`.
 */
export async function* readJsonArrayBatches(path: string, options: ReadArrayOptions): AsyncGenerator<ArrayBatch> {
  const chunkBytes = options.chunkBytes ?? 1 << 16;
  const { fd } = openForRead(path);
  try {
    const chunk = Buffer.allocUnsafe(chunkBytes);
    const head = Buffer.alloc(3);
    let position = readSync(fd, head, 0, 3, 0) === 3 && head.equals(UTF8_BOM) ? 3 : 0;
    const scanner = new ArrayScanner(options.maxElementBytes);
    for (;;) {
      throwIfCancelled(options.signal);
      // Let the event loop run once a chunk: cancellations, progress and other requests get through.
      await new Promise((resolve) => setImmediate(resolve));
      const n = readSync(fd, chunk, 0, chunkBytes, position);
      if (n === 0) break;
      options.onProgress?.(position + n);
      const batch = scanner.scan(chunk, n, position);
      position += n;
      if (batch.problem) {
        yield batch;
        return;
      }
      if (batch.elements.length) yield batch;
    }
    const problem = scanner.end(position);
    if (problem) yield { elements: [], problem };
  } finally {
    closeSync(fd);
  }
}

/** The scanning state between chunks (a class, not generator locals: V8 optimises the byte loop ~10x better). */
class ArrayScanner {
  private phase = BEFORE;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private line = 1;
  /** The element's bytes OR-ed together: bit 7 set when any is not ASCII. */
  private highBits = 0;
  private index = 0;
  // The element being read: where it starts, and its bytes from earlier chunks while it fits.
  private startLine = 0;
  private startOffset = 0;
  private carry: Buffer[] = [];
  private carryLength = 0;
  private skipping = false;

  constructor(private readonly maxElementBytes: number) {}

  /** The elements that end in `chunk[0, n)`, which starts at byte `position` of the file. */
  scan(chunk: Buffer, n: number, position: number): ArrayBatch {
    const elements: RawElement[] = [];
    const problem = (at: number, message: string): ArrayBatch => ({ elements, problem: { line: this.line, offset: position + at, index: this.index, message } });
    // Start of the current element within this chunk (0 when it started in an earlier chunk).
    let pieceStart = 0;
    let { phase, depth, inString, escaped, line, highBits } = this;
    for (let i = 0; i < n; i++) {
      const c = chunk[i];
      if (c === NEWLINE) line++;
      if (phase === ELEMENT) {
        highBits |= c;
        if (inString) {
          if (escaped) escaped = false;
          else if (c === BACKSLASH) escaped = true;
          else if (c === QUOTE) inString = false;
        } else if (c === QUOTE) inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
        else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && depth > 0) depth--;
        else if (depth === 0 && (c === COMMA || c === CLOSE_BRACKET)) {
          elements.push(this.finish(chunk, pieceStart, i, highBits));
          phase = c === COMMA ? NEXT : END;
        }
        continue;
      }
      if (isSpace(c)) continue;
      this.line = line;
      if (phase === BEFORE) {
        if (c !== OPEN_BRACKET) return problem(i, 'The file is not one JSON array.');
        phase = FIRST;
      } else if (phase === END) {
        return problem(i, "Content after the array's closing ']'.");
      } else if (c === CLOSE_BRACKET && phase === FIRST) {
        phase = END;
      } else if (c === COMMA || c === CLOSE_BRACKET) {
        return problem(i, `Element ${this.index} is missing (a '${String.fromCharCode(c)}' right after ${phase === FIRST ? "'['" : "','"}).`);
      } else {
        phase = ELEMENT;
        this.startLine = line;
        this.startOffset = position + i;
        pieceStart = i;
        depth = 0;
        highBits = 0;
        i--; // the element's first byte goes through the element branch (a quote, a bracket)
      }
    }
    if (phase === ELEMENT) {
      // The element goes on in the next chunk: keep its bytes while it fits, only count them after.
      const pieceLength = n - pieceStart;
      if (!this.skipping && this.carryLength + pieceLength > this.maxElementBytes) {
        this.skipping = true;
        this.carry = [];
      } else if (!this.skipping) this.carry.push(Buffer.from(chunk.subarray(pieceStart, n)));
      this.carryLength += pieceLength;
    }
    Object.assign(this, { phase, depth, inString, escaped, line, highBits });
    return { elements };
  }

  private finish(chunk: Buffer, start: number, end: number, highBits: number): RawElement {
    const length = this.carryLength + end - start;
    const tooLong = this.skipping || length > this.maxElementBytes;
    let buffer = chunk;
    if (tooLong) [buffer, start, end] = [EMPTY, 0, 0];
    else if (this.carry.length) [buffer, start, end] = [Buffer.concat([...this.carry, chunk.subarray(start, end)]), 0, length];
    const element = { index: this.index++, line: this.startLine, offset: this.startOffset, buffer, start, end, ascii: (highBits & 0x80) === 0, byte_length: length, too_long: tooLong };
    this.carry = [];
    this.carryLength = 0;
    this.skipping = false;
    return element;
  }

  /** Why the file may not end here (`position`: its size), if it may not. */
  end(position: number): ArrayProblem | undefined {
    if (this.phase === ELEMENT) {
      const unclosed = this.inString ? 'a string in it is not closed' : this.depth ? `${this.depth} bracket(s) in it are not closed` : "the array is not closed with ']'";
      return { line: this.startLine, offset: this.startOffset, index: this.index, message: `The file ends inside element ${this.index}: ${unclosed}.` };
    }
    if (this.phase === END) return undefined;
    return { line: this.line, offset: position, index: this.index, message: `The file ends ${this.index ? `after element ${this.index - 1}` : 'before any element'}: the array is not closed with ']'.` };
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * About how many JSON values (objects, arrays and the items in them) a JSON text holds, counting at
 * most to `limit + 1`: the text itself, then each `{`, `[` and `,` outside strings. JSON.parse turns each into a JS
 * value of ~100 bytes (a 64 MiB line of `[{},{},…]` took 2.1 GB), so an example over the limit is
 * refused before it is parsed. A text of `limit` bytes or fewer cannot exceed it and is not scanned.
 */
export function countJsonValues(bytes: Buffer, limit: number): number {
  if (bytes.length <= limit) return 0;
  let count = 1;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET || c === COMMA) {
      if (++count > limit) return count;
    }
  }
  return count;
}
