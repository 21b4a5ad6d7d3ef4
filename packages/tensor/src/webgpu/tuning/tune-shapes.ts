/**
 * From plain shape descriptors (what a model will run) to the family problems the switchboard tunes, including the
 * products of each matmul's backward pass.
 *
 * @module
 */

import type { AttentionProblem } from '../kernels/attention.js';
import type { MatmulProblem } from '../kernels/matmul.js';
import type { PartsProblem } from '../kernels/matmul-parts.js';
import type { RowProblem } from '../kernels/row-variants.js';
import type { FamilyProblem } from './switchboard.js';

/**
 * One product `[batch] · [m, k] · [k, n]` a model runs. `transposeB`: B is stored `[n, k]` (a linear layer's
 * weight `[out, in]`, read as `x · Wᵀ`); `transposeA`: A is stored `[k, m]`. `backward` adds the two products of its
 * gradient (dA = dC·Bᵀ, dB = Aᵀ·dC).
 */
export interface MatmulShape {
  kind: 'matmul';
  m: number;
  k: number;
  n: number;
  batch?: number;
  transposeA?: boolean;
  transposeB?: boolean;
  backward?: boolean;
}

/**
 * Fused attention over q `[batch, heads, seqLen, headDim]` and k/v `[batch, kvHeads, kvLen, headDim]`; `backward`
 * adds the backward kernels.
 */
export interface AttentionShape {
  kind: 'attention';
  batch: number;
  heads: number;
  kvHeads?: number;
  seqLen: number;
  kvLen?: number;
  headDim: number;
  causal?: boolean;
  backward?: boolean;
}

/** A row kernel over `[rows, cols]`: RMSNorm (forward, dx, residual-add), softmax, cross-entropy, last-axis sum/max/min. */
export interface RowShape {
  kind: 'rows';
  op: RowProblem['op'];
  rows: number;
  cols: number;
}

/**
 * Grouped linear products of one input (`linearMany`, `linearResidual`): x `[m, k]` times each weight `[n_p, k]`
 * (stored `[out, in]`), with a residual epilogue when `residual` (one weight); `backward` adds the input and weight
 * gradients. The tuner decides per shape class whether they run as one dispatch or as a tuned matmul each.
 */
export interface LinearPartsShape {
  kind: 'linear-parts';
  m: number;
  k: number;
  n: number[];
  residual?: boolean;
  backward?: boolean;
}

/** A shape a model will run, as passed to `tune()`. */
export type TuneShape = MatmulShape | AttentionShape | RowShape | LinearPartsShape;

function positive(what: string, n: number | undefined): void {
  if (n !== undefined && !(Number.isInteger(n) && n > 0))
    throw new Error(`tune: ${what} must be a positive integer, got ${n}`);
}

function matmulProblem(p: MatmulProblem): FamilyProblem {
  return { family: p.M === 1 ? 'matmul-decode' : 'matmul', problem: p };
}

/** The family problems of a list of shapes (duplicates are removed by the switchboard's shape classes). */
export function familyProblems(shapes: readonly TuneShape[]): FamilyProblem[] {
  const out: FamilyProblem[] = [];
  for (const s of shapes) {
    if (s.kind === 'matmul') {
      for (const [name, v] of Object.entries({ m: s.m, k: s.k, n: s.n, batch: s.batch })) positive(`matmul ${name}`, v);
      const batch = s.batch ?? 1;
      const la = s.transposeA ? 'mn' : 'k';
      const lb = s.transposeB ? 'k' : 'mn';
      out.push(matmulProblem({ M: s.m, N: s.n, K: s.k, batch, la, lb }));
      if (s.backward) {
        // dA [m, k] = dC [m, n] · Bᵀ; dB [k, n] = Aᵀ · dC, the transposes being strided views (layouts flip).
        out.push(matmulProblem({ M: s.m, N: s.k, K: s.n, batch, la: 'k', lb: lb === 'mn' ? 'k' : 'mn' }));
        out.push(matmulProblem({ M: s.k, N: s.n, K: s.m, batch, la: la === 'k' ? 'mn' : 'k', lb: 'mn' }));
      }
    } else if (s.kind === 'attention') {
      for (const [name, v] of Object.entries({
        batch: s.batch,
        heads: s.heads,
        kvHeads: s.kvHeads,
        seqLen: s.seqLen,
        kvLen: s.kvLen,
        headDim: s.headDim,
      }))
        positive(`attention ${name}`, v);
      const Hkv = s.kvHeads ?? s.heads;
      if (s.heads % Hkv !== 0) throw new Error(`tune: attention heads ${s.heads} is not a multiple of kvHeads ${Hkv}`);
      const p: AttentionProblem = {
        B: s.batch,
        Hq: s.heads,
        Hkv,
        T: s.seqLen,
        S: s.kvLen ?? s.seqLen,
        D: s.headDim,
        causal: s.causal ?? true,
      };
      out.push({ family: 'attention', problem: p });
      if (s.backward) out.push({ family: 'attention-backward', problem: p });
    } else if (s.kind === 'rows') {
      positive('rows rows', s.rows);
      positive('rows cols', s.cols);
      if (s.op !== 'rmsnorm' && s.op !== 'softmax')
        throw new Error(`tune: rows op '${s.op}' is not rmsnorm or softmax`);
      const p: RowProblem = { op: s.op, rows: s.rows, cols: s.cols };
      out.push({ family: 'rows', problem: p });
    } else if (s.kind === 'linear-parts') {
      positive('linear-parts m', s.m);
      positive('linear-parts k', s.k);
      if (s.n.length < 1 || s.n.length > 3) throw new Error(`tune: linear-parts takes 1–3 weights, got ${s.n.length}`);
      for (const n of s.n) positive('linear-parts n', n);
      if (s.residual && s.n.length !== 1) throw new Error('tune: a linear-parts residual takes exactly one weight');
      const base = { M: s.m, K: s.k, Ns: [...s.n] };
      out.push({ family: 'linear-parts', problem: { kind: 'forward', ...base, residual: s.residual ?? false } });
      if (s.backward) {
        for (const kind of ['inputGrad', 'weightGrad'] as const) {
          out.push({ family: 'linear-parts', problem: { kind, ...base, residual: false } satisfies PartsProblem });
        }
      }
    } else {
      throw new Error(
        `tune: unknown shape kind '${(s as { kind?: string }).kind}' (expected 'matmul', 'attention', 'rows' or 'linear-parts')`,
      );
    }
  }
  return out;
}
