import { mixSeed, SeededRandom } from '@andes/tensor';
import {
  animals,
  boyNames,
  colors,
  fears,
  foods,
  girlNames,
  hidingSpots,
  hobbies,
  objectAdjectives,
  objects,
  petNames,
  places,
  relatives,
  type StoryPerson,
  sceneSentences,
} from './story-lexicon.js';

/*
 * Synthetic story generator. Story `i` of seed `s` is generated from its own RNG seeded with
 * mixSeed(s, i), so the stream is unbounded, reproducible, and resumable from a single index.
 *
 * Each story: an introduction of a hero (name, kind, hobby), an optional scene sentence, one of six
 * plots (lost object, sharing, helping an animal, baking a gift, overcoming a fear, a trip), and an
 * ending. Every sentence has two to four phrasings. The hero's and friend's names are introduced early
 * and reused later, so predicting them needs the context, not word statistics.
 */

/** Pronouns for a person; capitalised forms built with {@link cap}. */
interface Pronouns {
  subj: string;
  obj: string;
  pos: string;
}

function pronouns(p: StoryPerson): Pronouns {
  return p.kind === 'girl' ? { subj: 'she', obj: 'her', pos: 'her' } : { subj: 'he', obj: 'him', pos: 'his' };
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** "a" or "an" by the first letter of the following word. */
function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

function person(rng: SeededRandom, avoid?: string): StoryPerson {
  for (;;) {
    const kind = rng.chance(0.5) ? 'girl' : 'boy';
    const name = rng.pick(kind === 'girl' ? girlNames : boyNames);
    if (name !== avoid) return { name, kind };
  }
}

/** Everything a plot needs: the cast and the random source. */
interface StoryCast {
  rng: SeededRandom;
  hero: StoryPerson;
  friend: StoryPerson;
  h: Pronouns;
  f: Pronouns;
  place: string;
  relative: string;
}

function introduction(c: StoryCast): string[] {
  const { rng, hero, h } = c;
  const hobby = rng.pick(hobbies);
  const first = rng.pick([
    `Once upon a time, there was a little ${hero.kind} named ${hero.name}.`,
    `There once was a ${hero.kind} called ${hero.name}.`,
    `${hero.name} was a little ${hero.kind} who lived in a small house near the ${c.place}.`,
    `One day, a ${hero.kind} named ${hero.name} woke up early.`,
  ]);
  const second = rng.pick([
    `${cap(h.subj)} loved to ${hobby}.`,
    `${hero.name} loved to ${hobby} every day.`,
    `More than anything, ${hero.name} liked to ${hobby}.`,
  ]);
  const out = [first, second];
  if (rng.chance(0.6)) out.push(rng.pick(sceneSentences));
  return out;
}

function lostObjectPlot(c: StoryCast): string[] {
  const { rng, hero, friend, h, f } = c;
  const obj = rng.pick(objects);
  const color = rng.pick(colors);
  const [spot1, spot2, spot3] = rng.shuffle([...hidingSpots]);
  return [
    rng.pick([
      `${hero.name} had ${article(color)} ${color} ${obj}. ${cap(h.subj)} loved the ${obj} very much.`,
      `${cap(h.pos)} ${c.relative} gave ${hero.name} ${article(color)} ${color} ${obj}, and ${h.subj} took it everywhere.`,
    ]),
    `One day, ${hero.name} went to the ${c.place} with ${h.pos} ${obj}.`,
    rng.pick([`${cap(h.subj)} played with the ${obj} all morning.`, `${cap(h.subj)} played and played.`]),
    rng.pick([
      `Then ${hero.name} looked down and the ${obj} was gone!`,
      `When it was time to go home, ${hero.name} could not find the ${obj}.`,
    ]),
    rng.pick([`${hero.name} was very sad and started to cry.`, `${hero.name} felt sad.`]),
    `A ${friend.kind} named ${friend.name} saw ${hero.name} and asked, "Why are you sad?"`,
    `"I lost my ${obj}," said ${hero.name}.`,
    rng.pick([
      `"I will help you find it," said ${friend.name}.`,
      `"Do not worry, we can look together," said ${friend.name}.`,
    ]),
    `They looked ${spot1}, but the ${obj} was not there. They looked ${spot2}, but it was not there too.`,
    `Then ${friend.name} looked ${spot3} and found the ${color} ${obj}!`,
    rng.pick([
      `${hero.name} was so happy. "Thank you, ${friend.name}!" ${h.subj} said.`,
      `${hero.name} gave ${friend.name} a big hug. "Thank you!" ${h.subj} said.`,
    ]),
    rng.pick([
      `From that day on, ${hero.name} and ${friend.name} were best friends.`,
      `${hero.name} and ${friend.name} played with the ${obj} together until the sun went down, and ${f.subj} smiled all the way home.`,
    ]),
  ];
}

function sharingPlot(c: StoryCast): string[] {
  const { rng, hero, friend, h, f } = c;
  const obj = rng.pick(objects);
  const adj = rng.pick(objectAdjectives);
  return [
    `${hero.name} and ${h.pos} friend ${friend.name} went to the ${c.place} to play.`,
    `There they found ${article(adj)} ${adj} ${obj}.`,
    `"The ${obj} is mine!" said ${hero.name}.`,
    rng.pick([`"No, it is mine!" said ${friend.name}.`, `"I saw it first!" said ${friend.name}.`]),
    rng.pick([
      `They both pulled the ${obj}, and it fell in the mud.`,
      `They pulled and pulled, and the ${obj} fell on the ground.`,
    ]),
    `${hero.name} was angry and ${friend.name} was sad.`,
    `Then ${hero.name}'s ${c.relative} came and said, "Why not share the ${obj}? You can take turns."`,
    rng.pick([
      `So ${hero.name} played with the ${obj} first, and then ${friend.name} played with it.`,
      `So they took turns. First ${friend.name} played with the ${obj}, and then ${hero.name}.`,
    ]),
    rng.pick([
      `Playing together was more fun than playing alone.`,
      `${hero.name} smiled at ${friend.name}, and ${f.subj} smiled back.`,
    ]),
    `${hero.name} learned that sharing makes everyone happy.`,
  ];
}

function animalPlot(c: StoryCast): string[] {
  const { rng, hero, h } = c;
  const animal = rng.pick(animals);
  const pet = rng.pick(petNames);
  const spot = rng.pick(hidingSpots);
  return [
    `One day, ${hero.name} walked to the ${c.place}.`,
    rng.pick([`${cap(h.subj)} heard a small sound ${spot}.`, `Suddenly, ${h.subj} heard a little cry ${spot}.`]),
    `It was a little ${animal}, and it looked hungry and cold.`,
    rng.pick([`"Poor ${animal}," said ${hero.name}. "I will help you."`, `"Do not be scared," said ${hero.name}.`]),
    `${hero.name} gave the ${animal} some food and a warm place to sleep.`,
    `The ${animal} was happy and did not want to go away.`,
    `${hero.name} named the ${animal} ${pet}.`,
    rng.pick([
      `Every day, ${hero.name} and ${pet} played at the ${c.place}.`,
      `After that, ${pet} followed ${hero.name} everywhere.`,
    ]),
    rng.pick([
      `${pet} was the best friend ${hero.name} ever had.`,
      `${hero.name} loved ${pet}, and ${pet} loved ${hero.name}.`,
    ]),
  ];
}

function bakingPlot(c: StoryCast): string[] {
  const { rng, hero, h } = c;
  const food = rng.pick(foods);
  const rel = c.relative;
  return [
    `One morning, ${hero.name} wanted to make ${article(food)} ${food} for ${h.pos} ${rel}.`,
    `${cap(h.subj)} asked ${h.pos} friend ${c.friend.name} to help.`,
    `First, they put everything on the table.`,
    rng.pick([`Then they mixed and mixed.`, `Then ${c.friend.name} mixed while ${hero.name} sang a song.`]),
    rng.pick([
      `The kitchen was a big mess, but they did not stop.`,
      `${hero.name} made a little mess, but ${c.friend.name} helped to clean it.`,
    ]),
    `At last, the ${food} was ready. It smelled so good!`,
    `${hero.name} gave the ${food} to ${h.pos} ${rel}.`,
    rng.pick([
      `"Thank you, ${hero.name}! This is the best ${food} ever," said ${rel}.`,
      `${cap(rel)} was very happy and gave ${hero.name} a big hug.`,
    ]),
    `${hero.name} and ${c.friend.name} felt proud.`,
  ];
}

function fearPlot(c: StoryCast): string[] {
  const { rng, hero, friend, h } = c;
  const fear = rng.pick(fears);
  return [
    `${hero.name} was scared of ${fear}.`,
    rng.pick([`Every time ${h.subj} thought about it, ${h.subj} wanted to hide.`, `It made ${h.obj} feel very small.`]),
    `One day, ${hero.name} told ${friend.name} about it.`,
    rng.pick([
      `"I was scared of ${fear} too," said ${friend.name}. "But I am brave now, and you can be brave too."`,
      `"You are not alone," said ${friend.name}. "I will stay with you."`,
    ]),
    `${hero.name} took a deep breath.`,
    `${cap(h.subj)} held ${friend.name}'s hand and tried again.`,
    rng.pick([`It was not so bad after all!`, `It was not as scary as ${h.subj} thought.`]),
    `${hero.name} was proud of ${h.obj}self, and ${friend.name} was proud of ${h.obj} too.`,
  ];
}

function tripPlot(c: StoryCast): string[] {
  const { rng, hero, h } = c;
  const [a1, a2] = rng.shuffle([...animals]);
  const obj = rng.pick(objects);
  const color = rng.pick(colors);
  return [
    `One day, ${hero.name} and ${h.pos} ${c.relative} went to the ${c.place}.`,
    `They saw ${article(a1!)} ${a1} and ${article(a2!)} ${a2}.`,
    rng.pick([`The ${a1} was big and the ${a2} was small.`, `The ${a2} ran after the ${a1}.`]),
    `${hero.name} laughed and clapped ${h.pos} hands.`,
    `Then ${h.subj} found ${article(color)} ${color} ${obj} ${rng.pick(hidingSpots.slice(1, 6))}.`,
    rng.pick([`"Can I keep it?" asked ${hero.name}.`, `"Look what I found!" said ${hero.name}.`]),
    `${hero.name} put the ${obj} in ${h.pos} bag.`,
    `When they got home, ${hero.name} showed the ${color} ${obj} to ${c.friend.name}.`,
    `It was the best day ever.`,
  ];
}

function wordCount(sentences: string[]): number {
  let n = 0;
  for (const s of sentences) n += s.split(' ').length;
  return n;
}

const plots = [lostObjectPlot, sharingPlot, animalPlot, bakingPlot, fearPlot, tripPlot];

/**
 * Generates story number `index` of the synthetic corpus with the given seed: a single line of simple
 * English (about 100–300 words) built from a closed vocabulary of a few hundred words.
 *
 * @param seed corpus seed; different seeds give different, equally distributed corpora.
 * @param index story number ≥ 0; the same `(seed, index)` always yields the same story.
 */
export function syntheticStory(seed: number, index: number): string {
  const rng = new SeededRandom(mixSeed(seed, index));
  const hero = person(rng);
  const friend = person(rng, hero.name);
  const cast: StoryCast = {
    rng,
    hero,
    friend,
    h: pronouns(hero),
    f: pronouns(friend),
    place: rng.pick(places),
    relative: rng.pick(relatives),
  };
  const sentences = introduction(cast);
  // One or two plots, so length varies and the second plot reuses the same cast.
  const first = rng.int(plots.length);
  if (plots[first] !== lostObjectPlot && rng.chance(0.7)) {
    sentences.push(
      rng.pick([
        `${hero.name} had a good friend named ${friend.name}.`,
        `${hero.name}'s best friend was ${article(friend.kind)} ${friend.kind} called ${friend.name}.`,
      ]),
      rng.pick([`${friend.name} lived next door.`, `They liked to play together after school.`]),
    );
  }
  sentences.push(...plots[first]!(cast));
  // A second plot with the same cast when the story is short, so every story has 100-300 words.
  if (wordCount(sentences) < 100 || rng.chance(0.3)) {
    let second = rng.int(plots.length - 1);
    if (second >= first) second++;
    sentences.push(
      rng.pick(['The next day, something new happened.', 'Later that week, there was another adventure.']),
    );
    sentences.push(...plots[second]!(cast));
  }
  sentences.push(rng.pick(['The end.', `${hero.name} went to bed happy that night.`, 'And that was a good day.']));
  return sentences.join(' ');
}

/**
 * The synthetic story corpus as an unbounded iterator of documents, starting at story `start`.
 *
 * @example
 * for (const story of syntheticStories(42)) { console.log(story); break; }
 */
export function* syntheticStories(seed: number, start = 0): Generator<string> {
  for (let i = start; ; i++) yield syntheticStory(seed, i);
}
