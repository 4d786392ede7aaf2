import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../../../src/models/files/safetensors.js';
import { randomBert, type BertShape } from '../../engine/helpers/random-model.js';

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** Lower-cased words and punctuation marks of the texts, as BERT's basic tokenizer splits them. */
function words(texts: readonly string[]): string[] {
  const found = new Set<string>();
  for (const text of texts) for (const w of text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? []) found.add(w);
  return [...found].sort();
}

/**
 * A BertModel folder with random weights and a real WordPiece tokenizer.json (BertNormalizer,
 * BertPreTokenizer, [CLS] … [SEP] template) whose vocabulary is every word of `texts`: an encoder
 * for tests, shaped as the Hugging Face files of bert-base are, only tiny.
 */
export function writeTinyBert(dir: string, texts: readonly string[], shape: Omit<BertShape, 'vocab'> = { hidden: 64, layers: 2, heads: 4, inter: 128, positions: 128 }, seed = 11): string {
  const vocab = [...SPECIALS, ...words(texts)];
  const model = randomBert({ ...shape, vocab: vocab.length }, seed, 0.1);
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'model.safetensors'), model.weights);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(model.raw_config, null, 2));
  const id = (t: string) => vocab.indexOf(t);
  const special = (t: string) => ({ id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [id(t)], tokens: [t] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab.map((t, i) => [t, i])) },
  };
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ tokenizer_class: 'BertTokenizer', do_lower_case: true, cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]', model_max_length: shape.positions }),
  );
  return dir;
}

/** Every text of a triplet JSONL file. */
export function tripletTexts(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      const row = JSON.parse(line) as Record<string, string>;
      return [row.anchor!, row.positive!, row.negative!];
    });
}
