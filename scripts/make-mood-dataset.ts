// Generates the bundled "mood" task: short TinyStories-style stories whose events make them
// happy or sad, without the words "happy" or "sad" in the text. Deterministic for the seed.
// Run: node --import tsx scripts/make-mood-dataset.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../src/engine/random.js';

const rng = new Rng(2021);
const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];

const girls = ['Lily', 'Mia', 'Sue', 'Anna', 'Lucy', 'Emma', 'Sara', 'Amy', 'Kitty', 'Jane'];
const boys = ['Tom', 'Ben', 'Tim', 'Max', 'Sam', 'Jack', 'Bob', 'Leo', 'Joe', 'Timmy'];
const toys = ['ball', 'doll', 'kite', 'teddy bear', 'toy car', 'red ball', 'blue kite', 'toy boat', 'big truck', 'little bear'];
const places = ['the park', 'the beach', 'the garden', 'the forest', 'school', 'the big hill', 'the lake', 'the farm'];
const pets = ['dog', 'cat', 'bird', 'bunny', 'puppy', 'fish'];
const family = ['mom', 'dad', 'grandma', 'big sister', 'friend'];

interface Person { name: string; he: string; his: string; him: string }
const person = (): Person => (rng.next() < 0.5 ? { name: pick(girls), he: 'she', his: 'her', him: 'her' } : { name: pick(boys), he: 'he', his: 'his', him: 'him' });
const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

const openings = [
  (p: Person) => `Once upon a time, there was a little ${p.he === 'she' ? 'girl' : 'boy'} named ${p.name}.`,
  (p: Person) => `One day, ${p.name} went to ${pick(places)} with ${p.his} ${pick(family)}.`,
  (p: Person) => `${p.name} had a ${pick(toys)}. ${cap(p.he)} loved it very much.`,
  (p: Person) => `${p.name} liked to play outside in ${pick(places)}.`,
  (p: Person) => `${p.name} had a little ${pick(pets)}. They were best friends.`,
];

const happyEvents = [
  (p: Person) => `${cap(p.he)} found a shiny ${pick(toys)} under a tree.`,
  (p: Person) => `${cap(p.his)} ${pick(family)} gave ${p.him} a big present.`,
  (p: Person) => `${cap(p.he)} made a new friend and they played together.`,
  (p: Person) => `${cap(p.he)} ate a big cake with ${p.his} friends.`,
  (p: Person) => `${cap(p.he)} saw a pretty butterfly and it sat on ${p.his} hand.`,
  (p: Person) => `${cap(p.he)} won the race and everyone cheered.`,
  (p: Person) => `A friendly ${pick(pets)} came to play with ${p.him}.`,
  (p: Person) => `${cap(p.he)} helped ${p.his} ${pick(family)} and got a big hug.`,
  (p: Person) => `The sun was warm and ${p.he} played all day.`,
  (p: Person) => `${cap(p.he)} found ${p.his} lost ${pick(toys)} in the box.`,
];
const happyEndings = [
  (p: Person) => `${cap(p.he)} smiled and laughed.`,
  (p: Person) => `${cap(p.he)} hugged ${p.his} ${pick(family)} and said thank you.`,
  () => 'They played together all day long.',
  (p: Person) => `${cap(p.he)} jumped up and down with joy.`,
  (p: Person) => `It was the best day of ${p.his} life.`,
  () => 'They had so much fun.',
];
const sadEvents = [
  (p: Person) => `${cap(p.he)} lost ${p.his} favorite ${pick(toys)}.`,
  (p: Person) => `${cap(p.he)} fell down and hurt ${p.his} knee.`,
  (p: Person) => `${cap(p.his)} ${pick(toys)} broke into many pieces.`,
  () => 'The rain came and ruined the picnic.',
  (p: Person) => `${cap(p.his)} best friend moved far away.`,
  (p: Person) => `A big dog took ${p.his} ${pick(toys)} and ran away.`,
  (p: Person) => `${cap(p.his)} ${pick(pets)} was sick and did not want to play.`,
  (p: Person) => `The other kids did not want to play with ${p.him}.`,
  (p: Person) => `${cap(p.he)} dropped ${p.his} ice cream on the ground.`,
  (p: Person) => `${cap(p.his)} ${pick(family)} was angry and yelled at ${p.him}.`,
];
const sadEndings = [
  (p: Person) => `${cap(p.he)} cried and cried.`,
  (p: Person) => `${cap(p.he)} went home all alone.`,
  (p: Person) => `${cap(p.he)} sat down and a tear fell from ${p.his} eye.`,
  () => 'Nobody came to help.',
  (p: Person) => `${cap(p.he)} did not want to play anymore.`,
  (p: Person) => `It was a bad day for ${p.him}.`,
];

function story(mood: 'happy' | 'sad'): string {
  const p = person();
  const events = mood === 'happy' ? happyEvents : sadEvents;
  const endings = mood === 'happy' ? happyEndings : sadEndings;
  const parts = [pick(openings)(p), pick(events)(p)];
  if (rng.next() < 0.4) parts.push(pick(events)(p));
  parts.push(pick(endings)(p));
  return parts.join(' ');
}

const seen = new Set<string>();
function split(count: number): { story: string; mood: string }[] {
  const out: { story: string; mood: string }[] = [];
  while (out.length < count) {
    const mood = out.length % 2 === 0 ? 'happy' : 'sad';
    const s = story(mood);
    if (seen.has(s)) continue;
    seen.add(s);
    out.push({ story: s, mood });
  }
  return rng.shuffle(out);
}

const dir = join(process.argv[2] ?? 'data/mood');
mkdirSync(dir, { recursive: true });
for (const [name, count] of [['train', 400], ['dev', 100], ['test', 200]] as const) {
  writeFileSync(join(dir, `${name}.jsonl`), split(count).map((r) => JSON.stringify(r)).join('\n') + '\n');
}
