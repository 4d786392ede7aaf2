import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes text to an open file through a 1 MiB buffer, hashing (sha256) and counting the bytes as they
 * go. Each text is encoded into the buffer at once: holding the strings until a flush kept them alive
 * through young-generation GCs, which promoted them (a gigabyte of them on a 1 GB import) and grew
 * the heap to ~200 MB of garbage between full GCs.
 */
export class HashingFileWriter {
  bytes = 0;
  private readonly hash: Hash = createHash('sha256');
  private readonly buffer = Buffer.allocUnsafe(1 << 20);
  private used = 0;

  constructor(private readonly fd: number) {}

  write(text: string): void {
    // A UTF-16 unit takes at most 3 bytes of UTF-8.
    if (this.used + text.length * 3 > this.buffer.length) this.flush();
    if (text.length * 3 > this.buffer.length) this.writeBytes(Buffer.from(text, 'utf8'));
    else this.used += this.buffer.write(text, this.used, 'utf8');
  }

  flush(): void {
    this.writeBytes(this.buffer.subarray(0, this.used));
    this.used = 0;
  }

  /** Flushes and returns the sha256 of all bytes written (once). */
  digest(): string {
    this.flush();
    return this.hash.digest('hex');
  }

  private writeBytes(bytes: Buffer): void {
    this.hash.update(bytes);
    this.bytes += bytes.length;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset, bytes.length - offset);
  }
}

/**
 * Appends JSON rows to one JSONL file, hashing the bytes as they go, so a version of any size is
 * written in bounded memory. Used inside writeDirAtomic's temp folder.
 */
export class JsonlWriter {
  readonly path: string;
  rows = 0;
  private readonly fd: number;
  private readonly out: HashingFileWriter;
  private closed = false;

  constructor(dir: string, name: string) {
    this.path = join(dir, name);
    this.fd = openSync(this.path, 'w', 0o644);
    this.out = new HashingFileWriter(this.fd);
  }

  write(row: unknown): void {
    this.out.write(`${JSON.stringify(row)}\n`);
    this.rows++;
  }

  /** Closes the file and returns the sha256 of its bytes. */
  close(): string {
    const sha256 = this.out.digest();
    this.dispose();
    return sha256;
  }

  /** Closes the file without finishing it (the caller is abandoning the version). */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
