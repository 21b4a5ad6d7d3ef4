import { describe, expect, it } from 'vitest';
import { sharedContextGroups } from './prefix-scorer.js';

describe('sharedContextGroups', () => {
  it('groups requests with identical context tokens when some continuation has several tokens and it saves work', () => {
    const groups = sharedContextGroups([
      { tokens: [1, 5, 6, 7, 8], scored: 2 }, // context [1 5 6]
      { tokens: [1, 5, 6, 9], scored: 1 }, // context [1 5 6]
      { tokens: [1, 5, 6, 9, 9, 9], scored: 3 }, // context [1 5 6]
      { tokens: [1, 5, 7], scored: 1 }, // context [1 5]: alone
      { tokens: [2, 3, 4], scored: 1 }, // one-token choices only: left to the batched path
      { tokens: [2, 3, 5], scored: 1 },
      { tokens: [1, 5, 6], scored: 0 }, // nothing to score
      { tokens: [3, 1, 2, 3, 4, 5, 6, 7], scored: 7 }, // long continuations after a short context: batched rows
      { tokens: [3, 7, 6, 5, 4, 3, 2, 1], scored: 7 },
    ]);
    // Group [0 1 2]: full rows 4 + 3 + 5 = 12 tokens; cached 3 + 1 + 0 + 2 = 6.
    expect(groups).toEqual([[0, 1, 2]]);
  });
});
