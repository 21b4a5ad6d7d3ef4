/**
 * Checking one op against a float64 reference: the forward on the current backend, and the backward against central
 * finite differences of the reference (so gradients are checked against math, not against another backward rule).
 *
 * @module
 */
import { expect } from 'vitest';
import type { DType } from '../backend/backend.js';
import { tensor } from '../creation.js';
import { mul } from '../ops/mul.js';
import { sum } from '../ops/sum.js';
import { fmt } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { type InputKind, makeRng, type Ref, randomRef, worstMismatch } from './reference.js';

/** One input of an op check. */
export interface InputSpec {
  shape: number[];
  /** How values are drawn; default 'normal'. Integer kinds make int32 tensors unless `dtype` says otherwise. */
  kind?: InputKind;
  dtype?: DType;
  /** Check the gradient of this input (default: true for float32 inputs). */
  grad?: boolean;
}

/** An op under test and its float64 reference. */
export interface OpCheck {
  name: string;
  inputs: InputSpec[];
  run: (...xs: Tensor[]) => Tensor;
  reference: (...xs: Ref[]) => Ref;
  /** Forward tolerance: |a − e| ≤ atol + rtol·|e|. Defaults 1e-5 and 1e-4. */
  atol?: number;
  rtol?: number;
  /** Gradient tolerance against finite differences. Defaults 2e-3 and 2e-3. */
  gradAtol?: number;
  gradRtol?: number;
}

function dtypeOf(spec: InputSpec): DType {
  return spec.dtype ?? (typeof spec.kind === 'object' ? 'int32' : 'float32');
}

function makeInputs(check: OpCheck, seed: number): Ref[] {
  const rng = makeRng(seed);
  return check.inputs.map((s) => randomRef(rng, s.shape, s.kind ?? 'normal'));
}

function toTensor(ref: Ref, spec: InputSpec, requiresGrad: boolean): Tensor {
  const dtype = dtypeOf(spec);
  const host = dtype === 'int32' ? Int32Array.from(ref.data) : Float32Array.from(ref.data);
  return tensor(host, ref.shape, { dtype, requiresGrad });
}

function assertClose(what: string, actual: ArrayLike<number>, expected: Ref, atol: number, rtol: number): void {
  expect(actual.length, `${what}: element count`).toBe(expected.data.length);
  const w = worstMismatch(actual, expected.data, atol, rtol);
  if (w.index >= 0) {
    expect.fail(
      `${what}: element ${w.index} of ${fmt(expected.shape)} is ${w.actual}, expected ${w.expected} ` +
        `(atol ${atol}, rtol ${rtol})`,
    );
  }
}

/** Runs the op on the current backend and compares with the float64 reference. */
export async function expectForward(check: OpCheck, seed = 1): Promise<void> {
  const refs = makeInputs(check, seed);
  const xs = refs.map((r, i) => toTensor(r, check.inputs[i]!, false));
  const expected = check.reference(...refs);
  const y = check.run(...xs);
  try {
    expect([...y.shape], `${check.name}: output shape`).toEqual(expected.shape);
    assertClose(`${check.name} forward`, await y.data(), expected, check.atol ?? 1e-5, check.rtol ?? 1e-4);
  } finally {
    y.dispose();
    for (const x of xs) x.dispose();
  }
}

/**
 * Checks d(Σ op(x)·w)/dx for random weights w: the backend's backward against central differences of the float64
 * reference (step 1e-5 on the float64 inputs).
 */
export async function expectBackward(check: OpCheck, seed = 2): Promise<void> {
  const refs = makeInputs(check, seed);
  const wantGrad = check.inputs.map((s) => s.grad ?? dtypeOf(s) === 'float32');
  const xs = refs.map((r, i) => toTensor(r, check.inputs[i]!, wantGrad[i]!));
  const out0 = check.reference(...refs);
  const w = randomRef(makeRng(seed + 99), out0.shape);
  const y = check.run(...xs);
  const wt = tensor(Float32Array.from(w.data), w.shape);
  const loss = sum(mul(y, wt));
  loss.backward();
  const lossOf = (inputs: Ref[]): number => {
    const o = check.reference(...inputs);
    let s = 0;
    for (let i = 0; i < o.data.length; i++) s += o.data[i]! * w.data[i]!;
    return s;
  };
  try {
    for (let i = 0; i < refs.length; i++) {
      if (!wantGrad[i]) continue;
      const grad = xs[i]!.grad;
      expect(grad, `${check.name}: input ${i} got no gradient`).not.toBeNull();
      const eps = 1e-5;
      const fd = new Float64Array(refs[i]!.data.length);
      for (let j = 0; j < fd.length; j++) {
        const perturbed = refs.map((r) => ({ shape: r.shape, data: r.data.slice() }));
        perturbed[i]!.data[j]! += eps;
        const up = lossOf(perturbed);
        perturbed[i]!.data[j]! -= 2 * eps;
        const down = lossOf(perturbed);
        fd[j] = (up - down) / (2 * eps);
      }
      assertClose(
        `${check.name} backward (input ${i})`,
        await grad!.data(),
        { shape: refs[i]!.shape, data: fd },
        check.gradAtol ?? 2e-3,
        check.gradRtol ?? 2e-3,
      );
    }
  } finally {
    for (const t of [y, wt, loss, ...xs]) t.dispose();
  }
}
