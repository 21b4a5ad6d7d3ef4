import { describe, expect, it } from 'vitest';
import { constantSchedule, cosineSchedule, linearSchedule } from './schedules.js';

describe('cosineSchedule (LLaMA paper: 2000 warmup steps, floor 10%)', () => {
  const peak = 3e-4;
  const lr = cosineSchedule({ peakLr: peak, warmupSteps: 2000, totalSteps: 102_000, minLrRatio: 0.1 });

  it('warms up linearly to the peak', () => {
    expect(lr(0)).toBeCloseTo(peak / 2000, 15);
    expect(lr(999)).toBeCloseTo(peak / 2, 15);
    expect(lr(1999)).toBeCloseTo(peak, 15);
  });

  it('decays by a half cosine to 10% of the peak', () => {
    expect(lr(2000)).toBeCloseTo(peak, 15);
    // Halfway through the decay the cosine term is 1/2: floor + (peak - floor)/2 = 0.55 peak.
    expect(lr(52_000)).toBeCloseTo(0.55 * peak, 15);
    // A quarter of the way: ½(1 + cos(π/4)) ≈ 0.853553.
    expect(lr(27_000)).toBeCloseTo(0.1 * peak + 0.9 * peak * 0.5 * (1 + Math.SQRT1_2), 15);
    expect(lr(102_000)).toBeCloseTo(0.1 * peak, 15);
    expect(lr(500_000)).toBeCloseTo(0.1 * peak, 15);
  });

  it('is monotone after warmup', () => {
    let previous = Number.POSITIVE_INFINITY;
    for (let s = 2000; s <= 102_000; s += 997) {
      expect(lr(s)).toBeLessThanOrEqual(previous);
      previous = lr(s);
    }
  });

  it('accepts an absolute floor and rejects bad arguments', () => {
    const f = cosineSchedule({ peakLr: 1, warmupSteps: 0, totalSteps: 10, minLr: 0 });
    expect(f(0)).toBe(1);
    expect(f(10)).toBe(0);
    expect(() => cosineSchedule({ peakLr: 1, warmupSteps: 10, totalSteps: 5 })).toThrow(
      /totalSteps \(5\).*warmupSteps \(10\)/,
    );
    expect(() => f(-1)).toThrow(/step must be a non-negative integer, got -1/);
  });
});

describe('constantSchedule and linearSchedule', () => {
  it('constant is constant', () => {
    const f = constantSchedule(0.01);
    expect([f(0), f(1), f(10_000)]).toEqual([0.01, 0.01, 0.01]);
  });

  it('linear warms up then decays on a straight line to endLr', () => {
    const f = linearSchedule({ peakLr: 1, warmupSteps: 4, totalSteps: 14, endLr: 0.5 });
    expect(f(0)).toBeCloseTo(0.25, 15);
    expect(f(3)).toBeCloseTo(1, 15);
    expect(f(4)).toBeCloseTo(1, 15);
    expect(f(9)).toBeCloseTo(0.75, 15);
    expect(f(14)).toBeCloseTo(0.5, 15);
    expect(f(100)).toBeCloseTo(0.5, 15);
  });
});
