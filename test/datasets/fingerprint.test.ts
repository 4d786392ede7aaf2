import { describe, expect, it } from 'vitest';
import { fingerprintMemoryBytes, hashBytes, hashText, nearHash, nearHashOfMessages, normalizeForMatch, type Hash64 } from '../../src/datasets/fingerprint.js';
import { FINGERPRINT_WASM_BASE64 } from '../../src/datasets/wasm/fingerprint-wasm.js';
import { mulberry32 } from '../../src/random.js';
import { compileWat } from '../../scripts/wasm-source.js';

/** A hash as 16 hex digits, to compare with the reference. */
const hashKey = (hash: Hash64) => hash.hi.toString(16).padStart(8, '0') + hash.lo.toString(16).padStart(8, '0');

/** The module's hash written again with BigInt, from its description in fingerprint.wat. */
function referenceHash(bytes: Uint8Array): string {
  const mask = (1n << 64n) - 1n;
  const mul = (a: bigint, b: bigint) => (a * b) & mask;
  const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & mask;
  const round = (k: bigint) => mul(rotl(mul(k, 0x87c37b91114253d5n), 31n), 0x4cf5ad432745937fn);
  const word = (at: number, n: number) => {
    let k = 0n;
    for (let i = 0; i < n; i++) k |= BigInt(bytes[at + i]) << BigInt(8 * i);
    return k;
  };
  let h = 0x9e3779b97f4a7c15n;
  const words = bytes.length - (bytes.length % 8);
  for (let at = 0; at < words; at += 8) h = (mul(rotl(h ^ round(word(at, 8)), 27n), 5n) + 0x52dce729n) & mask;
  if (words < bytes.length) h ^= round(word(words, bytes.length - words));
  h ^= BigInt(bytes.length);
  h = mul(h ^ (h >> 33n), 0xff51afd7ed558ccdn);
  h = mul(h ^ (h >> 33n), 0xc4ceb9fe1a85ec53n);
  h ^= h >> 33n;
  return h.toString(16).padStart(16, '0');
}

describe('fingerprint module', () => {
  it('is the compiled fingerprint.wat (run scripts/build-wasm.ts after editing it)', async () => {
    expect(Buffer.from(await compileWat()).toString('base64')).toBe(FINGERPRINT_WASM_BASE64);
  });

  it('hashes as the reference written with BigInt, at every length around the 8-byte rounds', () => {
    const random = mulberry32(7);
    for (let length = 0; length < 40; length++) {
      const bytes = Uint8Array.from({ length }, () => Math.floor(random() * 256));
      expect(hashKey(hashBytes(bytes))).toBe(referenceHash(bytes));
    }
    const text = 'Grüße, 世界 — "quoted"';
    expect(hashKey(hashText(text))).toBe(referenceHash(Buffer.from(text)));
  });

  it('hashes by content only: same bytes anywhere, one changed or missing byte changes it', () => {
    const text = Buffer.from('{"messages": [{"role": "user", "content": "héllo"}, {"role": "assistant", "content": "hi"}]}');
    const reference = hashKey(hashBytes(text));
    for (let offset = 0; offset < 9; offset++) {
      const host = Buffer.alloc(text.length + 16, 0x20);
      text.copy(host, offset);
      expect(hashKey(hashBytes(host.subarray(offset, offset + text.length)))).toBe(reference);
    }
    const changed = Buffer.from(text);
    changed[changed.length - 3] ^= 1;
    expect(hashKey(hashBytes(changed))).not.toBe(reference);
    expect(hashKey(hashBytes(text.subarray(0, text.length - 1)))).not.toBe(reference);
  });

  it('grows its memory for a text larger than it holds, and gives the same hashes after letting a huge one go', () => {
    const big = 'word, '.repeat(50_000);
    const small = 'Where is my order?';
    const before = hashKey(nearHash([{ role: 'user', text: small }]));
    expect(hashKey(hashText(big))).toBe(referenceHash(Buffer.from(big)));
    expect(hashKey(nearHash([{ role: 'user', text: big }]))).toBe(hashKey(hashText(`user\n${normalizeForMatch(big)}\n`)));
    const huge = 'Ünïcödé, '.repeat(3_000_000); // 27 M characters: past the 16 MB kept between calls
    expect(hashKey(nearHash([{ role: 'user', text: huge }]))).toBe(hashKey(hashText(`user\n${normalizeForMatch(huge)}\n`)));
    expect(fingerprintMemoryBytes()).toBeGreaterThan(16 << 20);
    expect(hashKey(nearHash([{ role: 'user', text: small }]))).toBe(before);
    expect(fingerprintMemoryBytes()).toBeLessThanOrEqual(16 << 20);
    expect(hashKey(hashBytes(Buffer.from(small)))).toBe(referenceHash(Buffer.from(small)));
  });
});

describe('near-duplicate hash', () => {
  const near = (fields: Array<[string, string]>) => hashKey(nearHash(fields.map(([role, text]) => ({ role, text }))));
  const spelled = (fields: Array<[string, string]>) => hashKey(hashText(fields.map(([role, text]) => `${role}\n${normalizeForMatch(text)}\n`).join('')));

  it('is the hash of role, newline, normalizeForMatch(text), newline for each text: ASCII folded in WebAssembly, others in JavaScript', () => {
    const random = mulberry32(11);
    const alphabet = 'aZ09 \t\n.,!?-_"\\/{}[]()#@~`';
    for (let n = 0; n < 300; n++) {
      const text = Array.from({ length: Math.floor(random() * 30) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      expect(near([['user', text], ['assistant', `${text}!`]])).toBe(spelled([['user', text], ['assistant', `${text}!`]]));
    }
    expect(near([['user', 'Ünïcödé — text'], ['assistant', 'Plain ASCII, too.']])).toBe(spelled([['user', 'Ünïcödé — text'], ['assistant', 'Plain ASCII, too.']]));
  });

  it('matches up to case, punctuation and whitespace, also between an ASCII row and a Unicode one', () => {
    expect(near([['user', '  Hello,   WORLD!! ']])).toBe(near([['user', 'hello world']]));
    expect(near([['user', 'Hello… world']])).toBe(near([['user', 'hello... world']]));
    expect(near([['user', 'hello world']])).not.toBe(near([['user', 'helloworld']]));
    expect(near([['user', 'hello world']])).not.toBe(near([['assistant', 'hello world']]));
    // Text boundaries count: one message is not two.
    expect(near([['user', 'a b']])).not.toBe(near([['user', 'a'], ['user', 'b']]));
    expect(near([['user', '']])).not.toBe(near([]));
  });

  it('is the same for chat messages and for their text fields', () => {
    const messages = [
      { role: 'user', content: 'Where is my order #123?' },
      { role: 'assistant', content: 'It ships today.' },
    ];
    expect(hashKey(nearHashOfMessages(messages))).toBe(near(messages.map((m) => [m.role, m.content])));
  });
});
