/**
 * An independent TypeScript transcription of llama2.c run.c's `encode` (karpathy/llama2.c, run.c,
 * `void encode(Tokenizer* t, char *text, int8_t bos, int8_t eos, int *tokens, int *n_tokens)`),
 * working on tokenizer.bin directly: the reference the converted tokenizer.json is checked against.
 */
export interface RunCTokenizer {
  vocab: Uint8Array[];
  scores: number[];
  lookup: Map<string, number>;
}

export function readRunCTokenizer(bytes: Uint8Array, vocabSize: number): RunCTokenizer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vocab: Uint8Array[] = [];
  const scores: number[] = [];
  let offset = 4;
  for (let i = 0; i < vocabSize; i++) {
    scores.push(view.getFloat32(offset, true));
    const len = view.getInt32(offset + 4, true);
    offset += 8;
    vocab.push(bytes.slice(offset, offset + len));
    offset += len;
  }
  // run.c's str_lookup compares raw C strings; key by the byte string (latin1 keeps bytes 1:1).
  const lookup = new Map<string, number>();
  vocab.forEach((piece, id) => {
    const key = Buffer.from(piece).toString('latin1');
    if (!lookup.has(key)) lookup.set(key, id);
  });
  return { vocab, scores, lookup };
}

export function runCEncode(t: RunCTokenizer, text: string, bos: boolean, eos: boolean): number[] {
  const bytes = Buffer.from(text, 'utf8');
  const key = (b: Uint8Array) => Buffer.from(b).toString('latin1');
  const tokens: number[] = [];
  if (bos) tokens.push(1);
  if (bytes.length > 0) tokens.push(t.lookup.get(' ')!);
  // Walk UTF-8 code points: a byte whose top bits are not 10 starts a new one; at most 4 bytes.
  let buffer: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if ((c & 0xc0) !== 0x80) buffer = [];
    buffer.push(c);
    const next = bytes[i + 1];
    if (i + 1 < bytes.length && (next & 0xc0) === 0x80 && buffer.length < 4) continue;
    const id = t.lookup.get(key(Uint8Array.from(buffer)));
    if (id !== undefined) tokens.push(id);
    else for (const b of buffer) tokens.push(b + 3);
    buffer = [];
  }
  // Merge the best-scoring adjacent pair (first one on ties, strict >) until none is in the vocab.
  for (;;) {
    let bestScore = -1e10;
    let bestId = -1;
    let bestIdx = -1;
    for (let i = 0; i < tokens.length - 1; i++) {
      const merged = Buffer.concat([t.vocab[tokens[i]], t.vocab[tokens[i + 1]]]).toString('latin1');
      const id = t.lookup.get(merged);
      if (id !== undefined && t.scores[id] > bestScore) {
        bestScore = t.scores[id];
        bestId = id;
        bestIdx = i;
      }
    }
    if (bestIdx === -1) break;
    tokens.splice(bestIdx, 2, bestId);
  }
  if (eos) tokens.push(2);
  return tokens;
}
