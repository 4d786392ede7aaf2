/**
 * Fingerprints for duplicate detection: a 64-bit hash of exact bytes, and a near-duplicate hash of a
 * row's texts up to case, punctuation and whitespace. The per-byte work runs in a small WebAssembly
 * module (wasm/fingerprint.wat): on a gigabyte of chat JSONL it was a third of validation's time in
 * JavaScript, whose per-character loops cost 3-4 ns here. Hashes live only within one process run.
 */
import { FINGERPRINT_WASM_BASE64 } from './wasm/fingerprint-wasm.js';

/** A 64-bit hash as two unsigned 32-bit words. */
export interface Hash64 {
  hi: number;
  lo: number;
}

/** One text of a row and the role it belongs to (a chat message, or a field of another layout). */
interface RoleText {
  role: string;
  text: string;
}

/** The few WebAssembly globals used here (@types/node 20 does not declare them; Node has them). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
};

interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface FingerprintExports {
  memory: WasmMemory;
  fold(src: number, end: number, dst: number): number;
  hash(start: number, end: number): void;
}

/** Where the caller's bytes start in the module's memory (below: the hash and the fold table). */
const DATA_START = 1024;
const PAGE = 65536;
const NEWLINE = 10;

/** Memory past this, grown for one huge row, is let go before the next call (WebAssembly memory never shrinks). */
const KEEP_BYTES = 16 << 20;

// One instance a thread (workers load their own); synchronous, as the module is under a kilobyte.
const compiled = new WebAssembly.Module(Buffer.from(FINGERPRINT_WASM_BASE64, 'base64'));
let wasm: FingerprintExports;
let memory: Buffer;
let words: Uint32Array;
/** The memory from DATA_START: TextEncoder.encodeInto writes there at half the cost of Buffer.write. */
let input: Uint8Array;
const encoder = new TextEncoder();
instantiate();

function instantiate(): void {
  wasm = new WebAssembly.Instance(compiled).exports as FingerprintExports;
  views();
}

function views(): void {
  memory = Buffer.from(wasm.memory.buffer);
  words = new Uint32Array(wasm.memory.buffer, 0, 2);
  input = new Uint8Array(wasm.memory.buffer, DATA_START);
}

/**
 * Grows the module's memory to hold `end` bytes (growing detaches the old views, so they are
 * remade). `fresh`: a new call starts, nothing in memory is needed, so an instance that a huge row
 * grew past KEEP_BYTES is replaced by a small one.
 */
function reserve(end: number, fresh = false): void {
  if (fresh && memory.length > KEEP_BYTES && end <= KEEP_BYTES) instantiate();
  if (end <= memory.length) return;
  wasm.memory.grow(Math.ceil((end - memory.length) / PAGE));
  views();
}

function hashRange(start: number, end: number): Hash64 {
  wasm.hash(start, end);
  return { hi: words[1], lo: words[0] };
}

/** Hash of raw bytes (a JSON Lines row as read: identical lines, identical hashes). */
export function hashBytes(bytes: Uint8Array): Hash64 {
  reserve(DATA_START + bytes.length, true);
  memory.set(bytes, DATA_START);
  return hashRange(DATA_START, DATA_START + bytes.length);
}

/** Hash of a text's UTF-8 bytes. */
export function hashText(text: string): Hash64 {
  reserve(DATA_START + text.length * 3, true);
  return hashRange(DATA_START, DATA_START + encoder.encodeInto(text, input).written);
}

/** Chat messages as near-hash input: their content is the text. */
export function nearHashOfMessages(messages: ReadonlyArray<{ role: string; content: string }>): Hash64 {
  return nearHashOf(messages, (m) => m.content);
}

/**
 * Hash of a row's texts up to case, punctuation and whitespace: for each text its role, a newline,
 * the text folded (normalizeForMatch) and a newline. ASCII rows are folded by the module in one pass;
 * a row with any other character goes through Unicode normalisation, which folds ASCII the same way,
 * so both paths give one hash for the same folded bytes.
 */
export function nearHash(fields: readonly RoleText[]): Hash64 {
  return nearHashOf(fields, (f) => f.text);
}

function nearHashOf<T extends { role: string }>(items: readonly T[], textOf: (item: T) => string): Hash64 {
  // All texts in one write (each call into Buffer.write costs more than copying a short text).
  let joined = '';
  let roles = 0;
  for (const item of items) {
    joined += textOf(item);
    roles += item.role.length + 2;
  }
  // The texts first, the folded output after them (fold never writes more than it reads).
  const start = DATA_START + joined.length;
  reserve(start + joined.length + roles, true);
  // ASCII is one byte a character, so only an ASCII text is read and written whole with equal
  // counts (any other text may run on into the output area; it is redone below).
  const { read, written } = encoder.encodeInto(joined, input);
  let out = read === joined.length && written === joined.length ? start : -1;
  for (let i = 0, src = DATA_START; i < items.length && out >= 0; i++) {
    const length = textOf(items[i]).length;
    out = wasm.fold(src, src + length, writeRole(items[i].role, out));
    if (out >= 0) memory[out++] = NEWLINE;
    src += length;
  }
  return out >= 0 ? hashRange(start, out) : nearHashUnicode(items, textOf, start);
}

/** nearHashOf for rows with non-ASCII text: the same layout, each text normalised by normalizeForMatch. */
function nearHashUnicode<T extends { role: string }>(items: readonly T[], textOf: (item: T) => string, start: number): Hash64 {
  let out = start;
  for (const item of items) {
    const folded = normalizeForMatch(textOf(item));
    reserve(out + item.role.length + 2 + folded.length * 3);
    const at = writeRole(item.role, out);
    out = at + memory.write(folded, at, 'utf8');
    memory[out++] = NEWLINE;
  }
  return hashRange(start, out);
}

/** The role's characters (ASCII names) and a newline. */
function writeRole(role: string, at: number): number {
  for (let i = 0; i < role.length; i++) memory[at++] = role.charCodeAt(i);
  memory[at] = NEWLINE;
  return at + 1;
}

/** Bytes of WebAssembly memory this thread holds (for tests and diagnostics). */
export function fingerprintMemoryBytes(): number {
  return memory.length;
}

/** Text for near-duplicate matching: case, punctuation and whitespace differences do not count. */
export function normalizeForMatch(text: string): string {
  if (ASCII.test(text)) return text.toLowerCase().replace(ASCII_SEPARATORS, ' ').trim();
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{P}\p{S}\s]+/gu, ' ')
    .trim();
}

const ASCII = /^[\0-\x7f]*$/;
const ASCII_SEPARATORS = /[^a-z0-9]+/g;
