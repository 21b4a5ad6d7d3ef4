/**
 * The closed vocabulary of the synthetic story corpus. Kept to a few hundred words on purpose: a tiny
 * model trained for minutes must be able to learn it, while names (which recur within a story) and
 * objects still force it to use the context rather than memorise one story.
 */

/** A story character: a name and the pronouns used after it is introduced. */
export interface StoryPerson {
  /** Proper name, e.g. `Lily`. */
  name: string;
  /** `girl` or `boy`. */
  kind: 'girl' | 'boy';
}

/** Names of girls; each story draws its characters from these and {@link boyNames}. */
export const girlNames = ['Lily', 'Mia', 'Sara', 'Anna', 'Emma', 'Lucy', 'Rosa', 'Nora', 'Ella', 'Zoe', 'Kim', 'Amy'];
/** Names of boys. */
export const boyNames = ['Tom', 'Ben', 'Sam', 'Max', 'Leo', 'Jack', 'Tim', 'Finn', 'Noah', 'Omar', 'Jon', 'Eli'];
/** Names given to pets and animals met on the way. */
export const petNames = ['Spot', 'Coco', 'Pip', 'Rex', 'Daisy', 'Bubbles', 'Sunny', 'Buttons'];
/** Animals. */
export const animals = ['cat', 'dog', 'bird', 'rabbit', 'frog', 'duck', 'fox', 'bear', 'mouse', 'owl', 'pig', 'horse'];
/** Outdoor places a story can happen in. */
export const places = ['park', 'forest', 'garden', 'beach', 'farm', 'river', 'hill', 'lake', 'meadow', 'town'];
/** Small things a child can own, lose, share or find. */
export const objects = ['ball', 'kite', 'hat', 'box', 'book', 'doll', 'boat', 'cup', 'shell', 'stone', 'key', 'drum'];
/** Colours. */
export const colors = ['red', 'blue', 'green', 'yellow', 'pink', 'purple', 'white', 'brown'];
/** Adjectives for objects. */
export const objectAdjectives = ['big', 'small', 'shiny', 'old', 'new', 'soft', 'pretty', 'little'];
/** Places where lost things turn up (prepositional phrases). */
export const hidingSpots = [
  'under the bed',
  'behind the tree',
  'in the tall grass',
  'near a big rock',
  'under a bush',
  'behind the bench',
  'under the table',
  'next to the door',
  'in a pile of leaves',
];
/** Grown-ups in a child's family. */
export const relatives = ['mom', 'dad', 'grandma', 'grandpa'];
/** Things to bake or cook for someone. */
export const foods = ['cake', 'pie', 'soup', 'bread', 'cookies'];
/** Hobbies, as verb phrases after "loved to". */
export const hobbies = [
  'play outside',
  'read books',
  'sing songs',
  'draw pictures',
  'climb trees',
  'run and jump',
  'help at home',
  'look at the stars',
];
/** Things a child may be afraid of. */
export const fears = ['the dark', 'loud thunder', 'the big dog next door', 'the deep water', 'the tall slide'];
/** Weather and scenery sentences used to vary length without adding much new vocabulary. */
export const sceneSentences = [
  'The sun was warm and the sky was blue.',
  'Birds sang in the trees.',
  'It was a windy day and the leaves danced.',
  'There were many flowers everywhere.',
  'The air was cool and fresh.',
  'Little clouds moved across the sky.',
  'It was a quiet and sunny morning.',
];
