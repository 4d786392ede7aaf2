/** A request refused because the queue is full (the endpoint answers 429). */
export class QueueFullError extends Error {}

/**
 * Bounded concurrency: at most `concurrency` tasks run at once and at most `maxWaiting` wait, in
 * arrival order; a task that finds the queue full is refused at once with QueueFullError.
 */
export class RequestQueue {
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxWaiting: number,
  ) {}

  get waiting(): number {
    return this.queue.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.queue.length >= this.maxWaiting) {
        throw new QueueFullError(`The server is busy: ${this.running} request(s) running and ${this.queue.length} waiting (serving.max_queued). Retry after a moment.`);
      }
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so `running` stays counted.
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }
}
