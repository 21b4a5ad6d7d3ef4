import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHINCHILLA, computeOptimalForLoss, tokensForLoss } from '@andes/scaling';
import { afterAll, describe, expect, it } from 'vitest';
import { readLaw, runTradeoffCommand } from './tradeoff-command.js';

const dir = mkdtempSync(join(tmpdir(), 'andes-train-tradeoff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('andes-train tradeoff', () => {
  it("with Chinchilla's law: LLaMA-scale inference favours a smaller model trained on more tokens", () => {
    const lines: string[] = [];
    const svg = join(dir, 'tradeoff.svg');
    // The loss Chinchilla's fit predicts for LLaMA-7B's allocation (6.7B on 1T tokens), serving 2T tokens.
    const t = runTradeoffCommand({ fit: 'chinchilla', inferenceTokens: '2e12', targetLoss: '1.9856', svg }, (line) =>
      lines.push(line),
    );
    const optimum = computeOptimalForLoss(CHINCHILLA, 1.9856);
    expect(t.chinchilla.params / optimum.params).toBeCloseTo(1, 6);
    expect(t.best.params).toBeLessThan(optimum.params);
    // D(N) reaches the loss: recompute it independently of the command.
    expect(t.best.tokens / tokensForLoss(CHINCHILLA, t.best.params, 1.9856)).toBeCloseTo(1, 9);
    expect(t.best.totalFlops).toBeCloseTo(6 * t.best.params * t.best.tokens + 2 * t.best.params * 2e12, -20);
    expect(lines.join('\n')).toContain('← least total');
    expect(lines.join('\n')).toContain('← Chinchilla-optimal');
    expect(readFileSync(svg, 'utf8')).toContain('least total');
  });

  it('reads a fit file and defaults the target to its largest budget’s optimum', () => {
    const path = join(dir, 'fit.json');
    writeFileSync(
      path,
      JSON.stringify({ ...CHINCHILLA, optima: [{ fitted: { loss: 3 } }, { fitted: { loss: 2.5 } }] }),
    );
    expect(readLaw(path).largestOptimumLoss).toBe(2.5);
    const t = runTradeoffCommand({ fit: path, inferenceTokens: '0', json: true }, () => {});
    expect(t.targetLoss).toBe(2.5);
    expect(t.best.params / t.chinchilla.params).toBeCloseTo(1, 3);
  });

  it('names bad inputs', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ E: 1, A: 1, B: 'x', alpha: 1, beta: 1 }));
    expect(() => readLaw(path)).toThrow(`fit ${path}: field "B" must be a positive number, got "x"`);
    writeFileSync(path, JSON.stringify({ E: -0.1, A: 1, B: 1, alpha: 1, beta: 1 }));
    expect(() => readLaw(path)).toThrow(`fit ${path}: field "E" must be a number >= 0, got -0.1`);
    // A fit whose E underflowed to 0 is still a law.
    writeFileSync(path, JSON.stringify({ E: 0, A: 400, B: 400, alpha: 0.3, beta: 0.3 }));
    expect(readLaw(path).law.E).toBe(0);
    expect(() => runTradeoffCommand({ fit: 'chinchilla', inferenceTokens: '1e9', targetLoss: '1.5' })).toThrow(
      "is not above the fit's irreducible loss E = 1.6900",
    );
    expect(() => runTradeoffCommand({ fit: 'chinchilla', inferenceTokens: '-1', targetLoss: '2' })).toThrow(
      'flag --inference-tokens: expected a number >= 0, got "-1"',
    );
  });
});
