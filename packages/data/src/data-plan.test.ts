import { describe, expect, it } from 'vitest';
import { planSourceEpochs } from './data-plan.js';

describe('planSourceEpochs', () => {
  it("gives back the paper's epochs, without warnings, for sources sized as the paper's 1.4T-token run saw them", () => {
    // Table 1: sampling proportion (%) and epochs; a source of share·1.4T/epochs tokens is repeated `epochs` times.
    const table = {
      CommonCrawl: [67, 1.1],
      C4: [15, 1.06],
      GitHub: [4.5, 0.64],
      Wikipedia: [4.5, 2.45],
      Books: [4.5, 2.23],
      ArXiv: [2.5, 1.06],
      StackExchange: [2, 1.03],
    };
    const sources = Object.entries(table).map(([name, [pct, epochs]]) => ({
      name,
      weight: pct!,
      tokens: ((pct! / 100) * 1.4e12) / epochs!,
      documents: 0,
    }));
    const plan = planSourceEpochs(sources, 1.4e12);
    for (const p of plan) {
      expect(p.epochs).toBeCloseTo(table[p.name as keyof typeof table][1]!, 10);
      expect(p.paperEpochs).toBe(table[p.name as keyof typeof table][1]);
      expect(p.warning).toBeUndefined();
    }
    // 10% more budget pushes every source past the paper's repetition.
    expect(planSourceEpochs(sources, 1.54e12).every((p) => p.warning !== undefined)).toBe(true);
  });

  it('warns above the paper epochs, above its maximum for unknown names, and when a limit runs out', () => {
    const plan = planSourceEpochs(
      [
        { name: 'wikipedia', weight: 1, tokens: 1000, documents: 0 },
        { name: 'gutenberg', weight: 1, tokens: 10_000, documents: 0 },
        { name: 'forum', weight: 1, tokens: 1000, documents: 0 },
        { name: 'ArXiv', weight: 1, tokens: 1000, documents: 0, epochs: 2 },
      ],
      3000 * 4,
    );
    expect(plan.map((p) => p.epochs)).toEqual([3, 0.3, 3, 3]);
    expect(plan[0]!.warning).toBe("repeated 3.00×, more than the paper's 2.45 for Wikipedia");
    expect(plan[1]!.warning).toBeUndefined();
    expect(plan[1]!.paperEpochs).toBe(2.23);
    expect(plan[2]!.warning).toBe('repeated 3.00×, more than any source of the paper (2.45)');
    expect(plan[3]!.warning).toBe('its epochs limit 2 runs out after 67% of its share');
  });

  it('counts the BOS and EOS the loader adds per document', () => {
    const [p] = planSourceEpochs([{ name: 'x', weight: 1, tokens: 80, documents: 10 }], 200);
    expect(p!.tokensAvailable).toBe(100);
    expect(p!.epochs).toBe(2);
  });
});
