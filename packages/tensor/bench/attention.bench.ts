/**
 * Attention rows: the fused flash kernels vs the naive composition (matmul → scale+mask → softmax → matmul, and its
 * backward through the same primitives) on Andes, and the naive composition on tfjs-webgpu (tf.grads for backward).
 * Bytes are the peak of device memory held by live storages during one forward+backward (inputs excluded).
 *
 * @module
 */

import type { Backend, Storage, View } from '../src/backend/backend.js';
import type { WebGpuBackend } from '../src/webgpu/backend.js';
import { setAttentionVariant } from '../src/webgpu/kernels/attention.js';
import { ATTENTION_VARIANTS, attentionVariantFits } from '../src/webgpu/tuning/families.js';
import { switchboardOf } from '../src/webgpu/tuning/switchboard.js';
import { type Bench, timeIt } from './harness.js';

const cview = (storage: Storage, shape: number[]): View => ({
  storage,
  shape,
  strides: shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1)),
  offset: 0,
});
const swapLast = (v: View): View => {
  const r = v.shape.length;
  const shape = [...v.shape];
  const strides = [...v.strides];
  [shape[r - 1], shape[r - 2]] = [shape[r - 2]!, shape[r - 1]!];
  [strides[r - 1], strides[r - 2]] = [strides[r - 2]!, strides[r - 1]!];
  return { ...v, shape, strides };
};

/** Tracks the peak of bytes in use above a baseline while a pass runs. */
class Peak {
  private base: number;
  peak = 0;
  constructor(private readonly b: Backend) {
    this.base = b.memory().bytesInUse;
  }
  sample(): void {
    this.peak = Math.max(this.peak, this.b.memory().bytesInUse - this.base);
  }
}

interface Inputs {
  q: View;
  k: View;
  v: View;
  dO: View;
  mask: View;
  scalar: View;
  H: number;
  T: number;
  D: number;
}

function naive(b: Backend, x: Inputs, backward: boolean, peak?: Peak): void {
  const { H, T, D } = x;
  const free: Storage[] = [];
  const keep = (s: Storage) => {
    free.push(s);
    peak?.sample();
    return s;
  };
  const sh4 = [1, H, T, T];
  const s = keep(b.matmul(x.q, swapLast(x.k), [1, H]));
  const scaled = keep(b.binary('mul', cview(s, sh4), { ...x.scalar, shape: sh4, strides: [0, 0, 0, 0] }, sh4));
  const masked = keep(b.binary('add', cview(scaled, sh4), { ...x.mask, shape: sh4, strides: [0, 0, T, 1] }, sh4));
  const p = keep(b.softmax(cview(masked, sh4), H * T, T, false));
  const P = cview(p, sh4);
  keep(b.matmul(P, x.v, [1, H]));
  if (backward) {
    keep(b.matmul(swapLast(P), x.dO, [1, H]));
    const dP = cview(keep(b.matmul(x.dO, swapLast(x.v), [1, H])), sh4);
    const prod = keep(b.binary('mul', dP, P, sh4));
    const rows = keep(b.reduce('sum', cview(prod, sh4), [3]));
    const diff = keep(b.binary('sub', dP, { storage: rows, shape: sh4, strides: [H * T, T, 1, 0], offset: 0 }, sh4));
    const ds = keep(b.binary('mul', P, cview(diff, sh4), sh4));
    const dS = cview(
      keep(b.binary('mul', cview(ds, sh4), { ...x.scalar, shape: sh4, strides: [0, 0, 0, 0] }, sh4)),
      sh4,
    );
    keep(b.matmul(dS, x.k, [1, H]));
    keep(b.matmul(swapLast(dS), x.q, [1, H]));
  }
  void D;
  for (const f of free) b.free(f);
}

function fused(b: Backend, x: Inputs, backward: boolean, peak?: Peak): void {
  const { H, T, D } = x;
  const scale = 1 / Math.sqrt(D);
  const f = b.attention(x.q, x.k, x.v, scale, true);
  peak?.sample();
  if (backward) {
    const g = b.attentionBackward(x.q, x.k, x.v, cview(f.o, [1, H, T, D]), x.dO, cview(f.lse, [1, H, T]), scale, true);
    peak?.sample();
    b.free(g.dq);
    b.free(g.dk);
    b.free(g.dv);
  }
  b.free(f.o);
  b.free(f.lse);
}

/** Prints the attention table for each sequence length. */
export async function attentionRows(bench: Bench, lengths = [256, 1024], H = 8, D = 64): Promise<void> {
  const b = bench.andes;
  const tf = bench.tf;
  console.log(`\n### attention, causal, [1, ${H}, T, ${D}] (ms per call; peak extra device bytes per fwd+bwd)\n`);
  console.log(
    '| T | pass | Andes fused | Andes naive | tfjs-webgpu naive | fused vs naive | fused vs tfjs | bytes fused / naive |',
  );
  console.log('|---:|---|---:|---:|---:|---:|---:|---|');
  for (const T of lengths) {
    const n = H * T * D;
    const mask = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -1e30;
    const maskS = b.alloc('float32', T * T);
    b.write(maskS, mask);
    const scalar = b.fill('float32', 1, 1 / Math.sqrt(D));
    const x: Inputs = {
      q: cview(b.random('normal', n, 1, 0), [1, H, T, D]),
      k: cview(b.random('normal', n, 2, 0), [1, H, T, D]),
      v: cview(b.random('normal', n, 3, 0), [1, H, T, D]),
      dO: cview(b.random('normal', n, 4, 0), [1, H, T, D]),
      mask: cview(maskS, [T, T]),
      scalar: cview(scalar, [1]),
      H,
      T,
      D,
    };
    const pf = new Peak(b);
    fused(b, x, true, pf);
    const pn = new Peak(b);
    naive(b, x, true, pn);
    await b.sync();
    const tq = tf.randomNormal([1, H, T, D]);
    const tk = tf.randomNormal([1, H, T, D]);
    const tv = tf.randomNormal([1, H, T, D]);
    const tdy = tf.randomNormal([1, H, T, D]);
    const tmask = tf.tensor2d(mask, [T, T]);
    const scale = 1 / Math.sqrt(D);
    // biome-ignore lint/suspicious/noExplicitAny: tfjs tensors
    const fwd = (q: any, k: any, v: any) =>
      tf.matMul(tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), scale), tmask)), v);
    // Backward written out with the same primitives as Andes' naive path (tfjs-core's gradient registry is not
    // importable as Node ESM).
    // biome-ignore lint/suspicious/noExplicitAny: tfjs tensors
    const grads = ([q, k, v]: any[], dy: any) => {
      const p = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), scale), tmask));
      const o = tf.matMul(p, v);
      const dv = tf.matMul(p, dy, true, false);
      const dp = tf.matMul(dy, v, false, true);
      const ds = tf.mul(tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true))), scale);
      return [o, tf.matMul(ds, k), tf.matMul(ds, q, true, false), dv];
    };
    const opts = { minMs: 300, trials: 3, maxReps: 64 };
    for (const backward of [false, true]) {
      const fusedMs = await timeIt(
        () => fused(b, x, backward),
        () => b.sync(),
        opts,
      );
      const naiveMs = await timeIt(
        () => naive(b, x, backward),
        () => b.sync(),
        opts,
      );
      const tfMs = await timeIt(
        () => {
          tf.tidy(() => (backward ? grads([tq, tk, tv], tdy) : fwd(tq, tk, tv)));
        },
        () => bench.tfSync(),
        opts,
      );
      const mb = (v: number) => `${(v / 2 ** 20).toFixed(1)} MiB`;
      console.log(
        `| ${T} | ${backward ? 'fwd+bwd' : 'fwd'} | ${fusedMs.toFixed(1)} | ${naiveMs.toFixed(1)} | ${tfMs.toFixed(1)} | ` +
          `${(naiveMs / fusedMs).toFixed(2)}× | ${(tfMs / fusedMs).toFixed(2)}× | ${backward ? `${mb(pf.peak)} / ${mb(pn.peak)}` : ''} |`,
      );
    }
    for (const s of [x.q, x.k, x.v, x.dO]) b.free(s.storage);
    b.free(maskS);
    b.free(scalar);
    for (const t of [tq, tk, tv, tdy, tmask]) t.dispose();
  }
}

/**
 * Prints the fused attention kernels side by side, one column per variant the adapter can run (VARIANTS=id,… picks
 * some): milliseconds per causal forward and forward+backward, all timed in one process.
 */
export async function attentionVariantRows(bench: Bench, lengths = [256, 1024], H = 8, D = 64): Promise<void> {
  const b = bench.andes;
  const profile = switchboardOf((b as WebGpuBackend).rt)!.profile;
  const wanted = process.env.VARIANTS?.split(',');
  const ids = Object.keys(ATTENTION_VARIANTS).filter(
    (id) => attentionVariantFits(profile, ATTENTION_VARIANTS[id]!) && (!wanted || wanted.includes(id)),
  );
  console.log(`\n### attention variants, causal, [1, ${H}, T, ${D}] (ms per call)\n`);
  console.log(`| T | pass | ${ids.join(' | ')} |`);
  console.log(`|---:|---|${ids.map(() => '---:').join('|')}|`);
  for (const T of lengths) {
    const n = H * T * D;
    const x = {
      q: cview(b.random('normal', n, 1, 0), [1, H, T, D]),
      k: cview(b.random('normal', n, 2, 0), [1, H, T, D]),
      v: cview(b.random('normal', n, 3, 0), [1, H, T, D]),
      dO: cview(b.random('normal', n, 4, 0), [1, H, T, D]),
    } as Inputs;
    Object.assign(x, { H, T, D });
    for (const backward of [false, true]) {
      const cells: string[] = [];
      for (const id of ids) {
        setAttentionVariant(ATTENTION_VARIANTS[id]);
        const ms = await timeIt(
          () => fused(b, x, backward),
          () => b.sync(),
          { minMs: 300, trials: 3, maxReps: 64 },
        );
        cells.push(ms.toFixed(1));
      }
      console.log(`| ${T} | ${backward ? 'fwd+bwd' : 'fwd'} | ${cells.join(' | ')} |`);
    }
    setAttentionVariant(undefined);
    for (const s of [x.q, x.k, x.v, x.dO]) b.free(s.storage);
  }
}
