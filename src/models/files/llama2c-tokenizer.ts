import { FinetuneError } from '../../errors.js';

/**
 * llama2.c's tokenizer.bin → a Hugging Face tokenizer.json that @huggingface/tokenizers loads and
 * that encodes as run.c's `encode` does: a SentencePiece-style BPE over the whole text (no
 * pre-tokenizer split), dummy-prefix `▁`, spaces as `▁`, byte fallback `<0xHH>`, and merges ranked
 * by the score of the piece they produce (run.c merges the highest-scoring pair first, leftmost on ties).
 */

interface Llama2cVocab {
  max_token_length: number;
  pieces: string[];
  scores: number[];
}

const SPACE_MARK = '\u2581';
/** run.c's ids: 0 <unk>, 1 BOS "\n<s>\n", 2 EOS "\n</s>\n", 3..258 the bytes <0x00>..<0xFF>. */
const SPECIAL_NAMES = ['<unk>', '<s>', '</s>'];
const FIRST_BYTE_ID = 3;
const FIRST_MERGE_ID = FIRST_BYTE_ID + 256;

/** Parses tokenizer.bin: uint32 max_token_length, then vocab_size × (f32 score, i32 len, len UTF-8 bytes). */
export function readLlama2cTokenizer(bytes: Uint8Array, vocabSize: number, path = 'tokenizer.bin'): Llama2cVocab {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const truncated = (i: number) =>
    new FinetuneError('FILE_ERROR', `${path} ends inside entry ${i} of ${vocabSize}: it is truncated or not the tokenizer of this checkpoint.`, {
      recovery: 'Pass the tokenizer.bin exported with this checkpoint (llama2.c tokenizer.py), complete.',
      details: { file: path, field: `vocab[${i}]` },
    });
  if (bytes.length < 4) throw truncated(0);
  const maxTokenLength = view.getUint32(0, true);
  const pieces: string[] = [];
  const scores: number[] = [];
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let offset = 4;
  for (let i = 0; i < vocabSize; i++) {
    if (offset + 8 > bytes.length) throw truncated(i);
    const score = view.getFloat32(offset, true);
    const length = view.getInt32(offset + 4, true);
    offset += 8;
    if (length < 0 || length > 4096 || offset + length > bytes.length) throw truncated(i);
    pieces.push(decoder.decode(bytes.subarray(offset, offset + length)));
    scores.push(score);
    offset += length;
  }
  if (offset !== bytes.length) {
    throw new FinetuneError('FILE_ERROR', `${path} has ${bytes.length - offset} bytes after ${vocabSize} entries: its vocabulary does not match the checkpoint's vocab_size.`, {
      recovery: 'Pass the tokenizer.bin exported together with this checkpoint.',
      details: { file: path },
    });
  }
  for (let b = 0; b < 256; b++) {
    const expected = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
    if (pieces[FIRST_BYTE_ID + b] !== expected) {
      throw new FinetuneError('MODEL_UNSUPPORTED', `${path} entry ${FIRST_BYTE_ID + b} is '${pieces[FIRST_BYTE_ID + b]}', not the byte-fallback piece ${expected} of a llama2.c SentencePiece export.`, {
        details: { file: path, field: `vocab[${FIRST_BYTE_ID + b}]` },
      });
    }
  }
  return { max_token_length: maxTokenLength, pieces, scores };
}

/** The HF vocabulary piece of llama2.c id `id` (SentencePiece's ▁ restored for spaces). */
function hfPiece(vocab: Llama2cVocab, id: number): string {
  if (id < FIRST_BYTE_ID) return SPECIAL_NAMES[id];
  if (id < FIRST_MERGE_ID) return vocab.pieces[id];
  return vocab.pieces[id].replaceAll(' ', SPACE_MARK);
}

/**
 * Every pair (left, right) of vocabulary pieces whose concatenation is a piece, ranked by that
 * piece's score (highest first), which is the order run.c applies them.
 */
function buildMerges(vocab: Llama2cVocab, pieceIds: Map<string, number>): Array<[string, string]> {
  const candidates: Array<{ score: number; id: number; pair: [string, string] }> = [];
  for (let id = FIRST_MERGE_ID; id < vocab.pieces.length; id++) {
    const chars = Array.from(hfPiece(vocab, id));
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      const l = pieceIds.get(left);
      const r = pieceIds.get(right);
      if (l !== undefined && r !== undefined && l >= FIRST_MERGE_ID && r >= FIRST_MERGE_ID) {
        candidates.push({ score: vocab.scores[id], id, pair: [left, right] });
      }
    }
  }
  candidates.sort((a, b) => b.score - a.score || a.id - b.id);
  return candidates.map((c) => c.pair);
}

/** The tokenizer.json (Hugging Face tokenizers format) equivalent to run.c's encode/decode. */
export function llama2cTokenizerJson(vocab: Llama2cVocab): Record<string, unknown> {
  const pieceIds = new Map<string, number>();
  const hfVocab: Record<string, number> = {};
  for (let id = 0; id < vocab.pieces.length; id++) {
    const piece = hfPiece(vocab, id);
    if (!pieceIds.has(piece)) pieceIds.set(piece, id);
    hfVocab[piece] ??= id;
  }
  const special = (id: number) => ({ id, content: SPECIAL_NAMES[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0), special(1), special(2)],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE_MARK },
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE_MARK },
      ],
    },
    pre_tokenizer: null,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: hfVocab,
      merges: buildMerges(vocab, pieceIds),
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE_MARK }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
  };
}

/** tokenizer_config.json for the converted tokenizer: BOS <s> (1), EOS </s> (2) as llama2.c. */
export function llama2cTokenizerConfig(maxLength: number): Record<string, unknown> {
  return {
    tokenizer_class: 'LlamaTokenizerFast',
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    model_max_length: maxLength,
    clean_up_tokenization_spaces: false,
    legacy: true,
  };
}
