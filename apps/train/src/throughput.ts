/**
 * The backend's own matmul rate, measured at start-up: the denominator of model FLOP utilisation.
 *
 * @module
 */
import { matmul, noGrad, randn, sync } from '@andes/tensor';

/** Shape `[m, k] × [k, n]` of the timed matmul. */
export interface MatmulShape {
  m: number;
  k: number;
  n: number;
}

/**
 * Times repeated `[m, k] × [k, n]` float32 matmuls on the current backend (after one warm-up that compiles the
 * kernel) and returns FLOP/s (2·m·k·n per matmul): the best of `trials` timings of at least `minSeconds` each, so a
 * moment of contention on a shared machine does not understate the rate.
 */
export async function measureMatmulFlops(
  shape: MatmulShape = { m: 512, k: 512, n: 512 },
  minSeconds = 0.15,
  trials = 3,
): Promise<number> {
  const { m, k, n } = shape;
  const a = randn([m, k], { seed: 1 });
  const b = randn([k, n], { seed: 2 });
  try {
    const run = async (count: number) => {
      noGrad(() => {
        for (let i = 0; i < count; i++) matmul(a, b).dispose();
      });
      await sync();
    };
    await run(1);
    let reps = 1;
    let best = 0;
    for (let trial = 0; trial < trials; ) {
      const start = performance.now();
      await run(reps);
      const seconds = (performance.now() - start) / 1000;
      if (seconds >= minSeconds || reps >= 1 << 14) {
        best = Math.max(best, (2 * m * k * n * reps) / seconds);
        trial++;
      } else reps = Math.max(reps * 2, Math.ceil((reps * minSeconds * 1.2) / Math.max(seconds, 1e-4)));
    }
    return best;
  } finally {
    a.dispose();
    b.dispose();
  }
}

/** Model FLOP utilisation: 6·N·(tokens/s) over the measured matmul FLOP/s (0–1, can exceed 1 if the probe is slow). */
export function utilisation(params: number, tokensPerSecond: number, matmulFlops: number): number {
  return matmulFlops > 0 ? (6 * params * tokensPerSecond) / matmulFlops : 0;
}
