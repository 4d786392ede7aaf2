import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Appends JSON rows to one JSONL file through a 1 MiB buffer, hashing the bytes as they go, so a
 * version of any size is written in bounded memory. Used inside writeDirAtomic's temp folder.
 */
export class JsonlWriter {
  readonly path: string;
  rows = 0;
  private readonly fd: number;
  private readonly hash: Hash = createHash('sha256');
  private pending: string[] = [];
  private pendingLength = 0;
  private closed = false;

  constructor(dir: string, name: string) {
    this.path = join(dir, name);
    this.fd = openSync(this.path, 'w', 0o644);
  }

  write(row: unknown): void {
    const line = `${JSON.stringify(row)}\n`;
    this.pending.push(line);
    this.pendingLength += line.length;
    this.rows++;
    if (this.pendingLength >= 1 << 20) this.flush();
  }

  /** Closes the file and returns the sha256 of its bytes. */
  close(): string {
    this.flush();
    this.dispose();
    return this.hash.digest('hex');
  }

  /** Closes the file without finishing it (the caller is abandoning the version). */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  private flush(): void {
    if (!this.pending.length) return;
    const bytes = Buffer.from(this.pending.join(''), 'utf8');
    this.hash.update(bytes);
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset, bytes.length - offset);
    this.pending = [];
    this.pendingLength = 0;
  }
}
