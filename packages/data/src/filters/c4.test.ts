import { describe, expect, it } from 'vitest';
import { cleanC4, countSentences } from './c4.js';

const good = [
  'The river runs past the old mill every spring.',
  'Farmers bring their grain to the market on Sundays!',
  'Is the bridge still open to carts and horses?',
  'She said the harvest was the best in ten years."',
  "Nobody remembers who built the first stone wall.'",
];

describe('C4 cleaning (Raffel et al. 2020 §2.2)', () => {
  it('keeps a page of five terminated sentences as is', () => {
    expect(cleanC4(good.join('\n'))).toBe(good.join('\n'));
  });

  it('drops lines without terminal punctuation, with an ellipsis, or under three words', () => {
    const page = [...good, 'Home | About us', 'And then it went on...', 'Too short.', 'Read more'].join('\n');
    expect(cleanC4(page)).toBe(good.join('\n'));
  });

  it('drops lines mentioning javascript or a policy phrase, and long words', () => {
    const extra = [
      'Please enable JavaScript to view the comments.',
      'By using this site you agree to the Terms of Use.',
      'This website uses cookies to improve your visit.',
      `A line with ${'x'.repeat(1001)} in it.`,
    ];
    expect(cleanC4([...good, ...extra].join('\n'))).toBe(good.join('\n'));
    expect(cleanC4([...good, `A line with ${'x'.repeat(1000)} in it.`].join('\n'))).not.toBeNull();
  });

  it('removes citation markers before judging a line', () => {
    const page = [...good.slice(0, 4), 'The mill burned down in 1921.[3][citation needed]'].join('\n');
    expect(cleanC4(page)).toBe([...good.slice(0, 4), 'The mill burned down in 1921.'].join('\n'));
  });

  it('drops pages with lorem ipsum, a curly brace, a bad word, or fewer than five sentences', () => {
    expect(cleanC4([...good, 'Lorem Ipsum dolor sit amet, consectetur.'].join('\n'))).toBeNull();
    expect(cleanC4([...good, 'Call f() { return 1 } here.'].join('\n'))).toBeNull();
    expect(cleanC4(good.join('\n'), { badWords: ['harvest'] })).toBeNull();
    // Whole words only: "harvests" is not "harvest".
    expect(cleanC4(good.join('\n'), { badWords: ['harvests', 'mil'] })).not.toBeNull();
    expect(cleanC4(good.slice(0, 4).join('\n'))).toBeNull();
    expect(cleanC4(good.slice(0, 4).join('\n'), { minSentences: 4 })).not.toBeNull();
  });

  it('counts sentences by terminal punctuation', () => {
    expect(countSentences('One two. Three four! Five six? "Seven eight." 3.5 is a number')).toBe(4);
    expect(countSentences('...')).toBe(0);
  });
});
