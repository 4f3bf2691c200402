// Generates the bundled "subject" task, an open-ended one: short TinyStories-style stories, each
// about one thing (a toy, a pet, a food, a place to play), and the expected output names it
// ("teddy bear"). The thing is said in the story, among other nouns; which one the story is about
// follows from what happens to it. Deterministic for the seed.
// Run: node --import tsx scripts/make-subject-dataset.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../src/engine/random.js';

const rng = new Rng(2104);
const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];

const girls = ['Lily', 'Mia', 'Sue', 'Anna', 'Lucy', 'Emma', 'Sara', 'Amy'];
const boys = ['Tom', 'Ben', 'Tim', 'Max', 'Sam', 'Jack', 'Bob', 'Leo'];
const things = [
  'ball', 'red ball', 'doll', 'kite', 'blue kite', 'teddy bear', 'toy car', 'toy boat', 'big truck', 'little bear',
  'puppy', 'kitten', 'bird', 'bunny', 'fish', 'frog', 'duck', 'pony',
  'cake', 'cookie', 'apple', 'ice cream', 'pie',
  'hat', 'red hat', 'coat', 'shoes', 'book', 'drum', 'box', 'balloon', 'swing', 'sandcastle', 'flower', 'tree', 'boat',
] as const;
const places = ['the park', 'the beach', 'the garden', 'the forest', 'school', 'the lake', 'the farm'];

interface Person { name: string; he: string; his: string; him: string }
const person = (): Person => (rng.next() < 0.5 ? { name: pick(girls), he: 'she', his: 'her', him: 'her' } : { name: pick(boys), he: 'he', his: 'his', him: 'him' });
const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

const openings = [
  (p: Person, t: string) => `${p.name} had a ${t}. ${cap(p.he)} loved it very much.`,
  (p: Person, t: string) => `Once upon a time, there was a little ${p.he === 'she' ? 'girl' : 'boy'} named ${p.name}. ${cap(p.he)} had a ${t}.`,
  (p: Person, t: string) => `One day, ${p.name} went to ${pick(places)} and found a ${t}.`,
  (p: Person, t: string) => `${p.name} saw a ${t} at ${pick(places)}. ${cap(p.he)} wanted it.`,
  (p: Person, t: string) => `${p.name}'s mom gave ${p.him === 'her' ? 'her' : 'him'} a ${t}.`,
];
const middles = [
  (p: Person, t: string) => `Every day, ${p.he} played with the ${t}.`,
  (p: Person, t: string) => `${cap(p.he)} showed the ${t} to ${p.his} friend.`,
  (p: Person, t: string) => `The ${t} was ${pick(['big', 'small', 'soft', 'shiny', 'pretty', 'funny'])}.`,
  (p: Person, t: string) => `${cap(p.he)} took the ${t} to ${pick(places)}.`,
  (p: Person, t: string, other: string) => `${cap(p.he)} did not like the ${other}, but ${p.he} liked the ${t}.`,
  (p: Person, t: string, other: string) => `${cap(p.his)} friend had a ${other}.`,
];
const endings = [
  (p: Person, t: string) => `${cap(p.he)} hugged the ${t} and smiled.`,
  (p: Person, t: string) => `${cap(p.he)} lost the ${t} and cried.`,
  (p: Person, t: string) => `At night, ${p.he} put the ${t} next to ${p.his} bed.`,
  (p: Person, t: string) => `The ${t} was ${p.his} best friend.`,
  (p: Person, t: string) => `${cap(p.he)} was happy with the ${t}.`,
];

function story(): { story: string; subject: string } {
  const p = person();
  const subject = pick(things);
  let other = pick(things);
  while (other === subject || other.includes(subject) || subject.includes(other)) other = pick(things);
  const parts = [pick(openings)(p, subject), pick(middles)(p, subject, other)];
  if (rng.next() < 0.5) parts.push(pick(middles)(p, subject, other));
  parts.push(pick(endings)(p, subject));
  return { story: parts.join(' '), subject };
}

const seen = new Set<string>();
function split(count: number): { story: string; subject: string }[] {
  const out: { story: string; subject: string }[] = [];
  while (out.length < count) {
    const s = story();
    if (seen.has(s.story)) continue;
    seen.add(s.story);
    out.push(s);
  }
  return out;
}

const dir = join(process.argv[2] ?? 'data/subject');
mkdirSync(dir, { recursive: true });
for (const [name, count] of [['train', 400], ['dev', 100], ['test', 200]] as const) {
  writeFileSync(join(dir, `${name}.jsonl`), split(count).map((r) => JSON.stringify(r)).join('\n') + '\n');
}
