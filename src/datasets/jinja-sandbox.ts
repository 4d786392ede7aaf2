import { createRequire } from 'node:module';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { FinetuneError } from '../errors.js';

/**
 * Chat templates are programs (Jinja) that come from users and model folders, so they render in a
 * worker thread with a heap limit and a deadline: `{% for i in range(100000000) %}` or a string that
 * doubles forty times ends that worker, never the server. Calls stay synchronous (callers render row
 * by row): the caller posts the job and waits on a shared flag (Atomics.wait) for at most the deadline,
 * then reads the answer with receiveMessageOnPort. A healthy render costs ~20 µs more than in-process.
 */

/** Bounds of one render; at the deadline or the heap limit the worker is ended and the render refused. */
export const TEMPLATE_LIMITS = { timeoutMs: 1_000, heapMb: 256, maxOutputChars: 32 * 1024 * 1024 } as const;

/** The template itself failed (syntax, raise_exception, a type error): a message the template wrote. */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly phase: 'parse' | 'render',
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

// CommonJS, evaluated in the worker; @huggingface/jinja is required by absolute path (the eval'd
// worker resolves from the process's working directory otherwise).
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { Template } = require(workerData.jinja);
const flag = new Int32Array(workerData.shared);
const port = workerData.port;
const compiled = new Map();
function compile(text) {
  let template = compiled.get(text);
  if (!template) {
    if (compiled.size >= 16) compiled.clear();
    template = new Template(text);
    compiled.set(text, template);
  }
  return template;
}
port.on('message', (job) => {
  let reply;
  let phase = 'parse';
  try {
    const template = compile(job.template);
    phase = 'render';
    const value = job.context ? template.render(job.context) : '';
    reply = value.length > job.maxOutputChars ? { seq: job.seq, ok: false, bound: 'output', chars: value.length } : { seq: job.seq, ok: true, value };
  } catch (error) {
    const bound = error instanceof RangeError && /string length|call stack/i.test(String(error.message)) ? 'size' : undefined;
    reply = { seq: job.seq, ok: false, phase, bound, error: String((error && error.message) || error) };
  }
  port.postMessage(reply);
  Atomics.store(flag, 1, 1);
  Atomics.notify(flag, 1);
});
Atomics.store(flag, 0, 1);
Atomics.notify(flag, 0);
`;

interface Reply {
  seq: number;
  ok: boolean;
  value?: string;
  error?: string;
  phase?: 'parse' | 'render';
  bound?: 'output' | 'size';
  chars?: number;
}

interface Sandbox {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
}

let sandbox: Sandbox | undefined;
let seq = 0;

function startSandbox(): Sandbox {
  const shared = new SharedArrayBuffer(8);
  const flag = new Int32Array(shared);
  const { port1, port2 } = new MessageChannel();
  const jinja = createRequire(import.meta.url).resolve('@huggingface/jinja');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { jinja, shared, port: port2 },
    transferList: [port2],
    resourceLimits: { maxOldGenerationSizeMb: TEMPLATE_LIMITS.heapMb, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
  });
  worker.unref();
  port1.unref();
  // A worker ended by its heap limit reports here; the render that caused it was already refused.
  worker.on('error', () => undefined);
  // Start-up is not the template's time: wait for the engine to load before any deadline runs.
  if (Atomics.wait(flag, 0, 0, 60_000) === 'timed-out') {
    void worker.terminate();
    throw new FinetuneError('INTERNAL', 'The chat template worker did not start within 60 s.');
  }
  return { worker, port: port1, flag };
}

function stopSandbox(box: Sandbox): void {
  if (sandbox === box) sandbox = undefined;
  box.port.close();
  void box.worker.terminate();
}

function outOfBounds(what: string): FinetuneError {
  return new FinetuneError('INVALID_INPUT', `The chat template ${what}.`, {
    recovery: "Use the model's own chat template (a bounded loop over messages), or fix the template's loops.",
    details: { field: 'chat_template' },
  });
}

/** Sends one job and waits (blocking, at most the deadline) for its answer. */
function call(template: string, context: Record<string, unknown> | undefined): string {
  const box = (sandbox ??= startSandbox());
  const id = ++seq;
  Atomics.store(box.flag, 1, 0);
  box.port.postMessage({ seq: id, template, context, maxOutputChars: TEMPLATE_LIMITS.maxOutputChars });
  const deadline = Date.now() + TEMPLATE_LIMITS.timeoutMs;
  let reply: Reply | undefined;
  while (!reply) {
    Atomics.store(box.flag, 1, 0);
    for (let m = receiveMessageOnPort(box.port); m && !reply; m = receiveMessageOnPort(box.port)) if ((m.message as Reply).seq === id) reply = m.message as Reply;
    const left = deadline - Date.now();
    if (reply || left <= 0) break;
    Atomics.wait(box.flag, 1, 0, left);
  }
  if (!reply) {
    stopSandbox(box);
    throw outOfBounds(`did not finish within ${TEMPLATE_LIMITS.timeoutMs} ms or needed more than ${TEMPLATE_LIMITS.heapMb} MB (a loop too large for a chat)`);
  }
  if (reply.ok) return reply.value ?? '';
  if (reply.bound === 'output') throw outOfBounds(`rendered ${reply.chars?.toLocaleString('en')} characters (at most ${TEMPLATE_LIMITS.maxOutputChars.toLocaleString('en')})`);
  if (reply.bound === 'size') throw outOfBounds(`built a value too large (${reply.error})`);
  throw new TemplateError(reply.error ?? 'unknown template error', reply.phase ?? 'render');
}

/** Parses a template (in the sandbox): throws TemplateError('parse') on a syntax error. */
export function checkTemplate(template: string): void {
  call(template, undefined);
}

/**
 * Renders a Jinja template with a context of plain data (structured-cloneable). Throws TemplateError
 * for the template's own failures and FinetuneError INVALID_INPUT when it runs past the bounds.
 */
export function renderTemplate(template: string, context: Record<string, unknown>): string {
  return call(template, context);
}
