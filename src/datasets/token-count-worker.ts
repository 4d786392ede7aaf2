import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { FinetuneError } from '../errors.js';

/**
 * Counts texts with a Hugging Face tokenizer in a worker thread, so a long example (a 1 MB row takes
 * ~2 s to encode) never holds the server's event loop. The main thread splits each text into the
 * pieces linearCount would count (cheap) and the worker encodes each piece with the same tokenizer
 * built from the same tokenizer.json: the counts are those of counting on the main thread.
 */

/**
 * Deadline of one job: a minute plus 0.1 ms a character, several times what a slow real tokenizer
 * takes (stories260K's SentencePiece BPE, one piece for a whole text: ~17 µs a character at 200 KB),
 * so only a tokenizer that would have hung the server is stopped.
 */
const DEADLINE_BASE_MS = 60_000;
const DEADLINE_MS_PER_CHAR = 0.1;
/** An idle worker (and its copy of the tokenizer) is ended after this. */
const IDLE_MS = 2_000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Tokenizer } = require(workerData.module);
const tokenizer = new Tokenizer(workerData.json, workerData.config);
parentPort.on('message', (job) => {
  try {
    const counts = job.texts.map((pieces) => {
      let n = 0;
      for (const piece of pieces) n += tokenizer.encode(piece, { add_special_tokens: false }).ids.length;
      return n;
    });
    parentPort.postMessage({ seq: job.seq, counts });
  } catch (error) {
    parentPort.postMessage({ seq: job.seq, error: String((error && error.message) || error) });
  }
});
`;

interface Pending {
  resolve: (counts: number[]) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class OffThreadCounter {
  private worker: Worker | undefined;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly tokenizer: { json: unknown; config: unknown; file: string },
    /** The pieces whose counts add up to a text's count (linearPieces). */
    private readonly piecesOf: (text: string) => string[],
  ) {}

  /** Token counts of `texts`, in order, counted in the worker. */
  count(texts: string[]): Promise<number[]> {
    if (this.idle) clearTimeout(this.idle);
    const worker = this.worker ?? this.start();
    const seq = ++this.seq;
    const chars = texts.reduce((n, t) => n + t.length, 0);
    const deadlineMs = Math.round(DEADLINE_BASE_MS + chars * DEADLINE_MS_PER_CHAR);
    return new Promise<number[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(
          new FinetuneError('INVALID_INPUT', `Counting the tokens of one example (${chars.toLocaleString('en-US')} characters) with ${this.tokenizer.file} took over ${deadlineMs / 1000} s; the count was stopped.`, {
            recovery: 'Shorten or split the example, count with an OpenAI encoding (`model: "o200k_base"`), or pass count_tokens: false.',
            details: { file: this.tokenizer.file, field: 'model' },
          }),
        );
      }, deadlineMs);
      this.pending.set(seq, { resolve, reject, timer });
      worker.postMessage({ seq, texts: texts.map(this.piecesOf) });
    });
  }

  private start(): Worker {
    const module = createRequire(import.meta.url).resolve('@huggingface/tokenizers');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, json: this.tokenizer.json, config: this.tokenizer.config }, resourceLimits: { maxOldGenerationSizeMb: 1024 } });
    // Never keeps the process alive; a job in flight is held by its deadline timer.
    worker.unref();
    worker.on('message', (reply: { seq: number; counts?: number[]; error?: string }) => {
      const job = this.pending.get(reply.seq);
      if (!job) return;
      this.pending.delete(reply.seq);
      clearTimeout(job.timer);
      if (reply.counts) job.resolve(reply.counts);
      else job.reject(new FinetuneError('MODEL_UNSUPPORTED', `${this.tokenizer.file} failed to encode an example: ${reply.error}.`, { details: { file: this.tokenizer.file, field: 'model' } }));
      if (this.pending.size === 0) this.idle = setTimeout(() => this.stop(), IDLE_MS).unref();
    });
    worker.on('error', (error: Error & { code?: string }) => {
      const why = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'needed more than 1 GB of memory' : error.message;
      this.fail(new FinetuneError('MODEL_UNSUPPORTED', `Counting tokens with ${this.tokenizer.file} failed: ${why}.`, { details: { file: this.tokenizer.file, field: 'model' } }));
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.fail(new FinetuneError('INTERNAL', 'The token-counting worker stopped before answering.'));
    });
    this.worker = worker;
    return worker;
  }

  /** Rejects every job in flight and ends the worker (the next count starts a fresh one). */
  private fail(error: Error): void {
    for (const job of this.pending.values()) {
      clearTimeout(job.timer);
      job.reject(error);
    }
    this.pending.clear();
    this.stop();
  }

  private stop(): void {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) void worker.terminate();
  }
}
