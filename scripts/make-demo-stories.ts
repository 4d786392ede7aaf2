/**
 * Writes assets/demo/moon-stories.jsonl: 200 short stories in one distinctive style, as
 * completion rows (prompt = the opening sentence, completion = the rest) (the town of
 * Willow Bay, a wish to the moon, a fixed lullaby refrain), for the demo's fine-tune. Synthetic by
 * design: the point is a style the tiny base model has never seen, so the demo can show it learned.
 * Run: npx tsx scripts/make-demo-stories.ts
 */
import { writeFileSync } from 'node:fs';
import { mulberry32 } from '../src/random.js';

const animals = ['fox', 'rabbit', 'owl', 'mouse', 'bear', 'duck', 'cat', 'dog', 'frog', 'bird', 'deer', 'turtle', 'squirrel', 'lamb', 'puppy'];
const names = ['Pip', 'Lily', 'Tom', 'Mia', 'Ben', 'Sue', 'Max', 'Anna', 'Sam', 'Lucy', 'Tim', 'Zoe', 'Jack', 'Ella', 'Leo', 'Rosa', 'Finn', 'Nora', 'Bob', 'Kim'];
const places = ['big hill', 'old tree', 'tall tower', 'red roof', 'green hill', 'stone wall', 'little bridge', 'high rock'];
const wishes = ['a warm home', 'a kind friend', 'a big cake', 'a red ball', 'a soft bed', 'a happy mom', 'a little boat', 'a bright star', 'a new hat', 'a long walk', 'a sunny day', 'a yummy pie'];
const gifts = ['feather', 'leaf', 'stone', 'ribbon', 'shell', 'key', 'bell', 'star'];
const endings = [
  'was never sad again',
  'shared the gift with every friend',
  'smiled every single day',
  'helped all the animals in the bay',
  'slept well every night',
  'sang a song each morning',
  'was kind to everyone',
  'kept the gift close forever',
];

// A seeded generator, so the file is the same on every run.
const next = mulberry32(20261122);
const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)];

const rows: string[] = [];
const seen = new Set<string>();
while (rows.length < 200) {
  const [animal, name, place, wish, gift, ending] = [pick(animals), pick(names), pick(places), pick(wishes), pick(gifts), pick(endings)];
  const prompt = `Once upon a time, in the town of Willow Bay, there lived a little ${animal} named ${name}.`;
  const completion =
    ` Every evening, ${name} climbed the ${place} to look at the moon. ` +
    `One night the moon whispered, "${name}, what do you wish for?" ` +
    `${name} said, "I wish for ${wish}." ` +
    `The moon smiled and sent a silver ${gift} down to ${name}. ` +
    `From that day on, ${name} ${ending}. ` +
    `And the moon sang: hush now, little ${animal}, the stars will keep you warm.`;
  if (seen.has(prompt + completion)) continue;
  seen.add(prompt + completion);
  rows.push(JSON.stringify({ prompt, completion }));
}
writeFileSync(new URL('../assets/demo/moon-stories.jsonl', import.meta.url), `${rows.join('\n')}\n`);
