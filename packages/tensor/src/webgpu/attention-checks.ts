/**
 * The fused attention checks, shared by the Node conformance tests and the headless-Chromium run: forward and
 * backward against the CPU backend's float64-accumulated reference. No test-runner imports.
 *
 * @module
 */

import type { Backend, View } from '../backend/backend.js';
import type { AttentionProblem } from './kernels/attention.js';
import { compareStorages, randomFloats, twin } from './test-support.js';

/** An attention problem checked: the shape the attention families classify. */
export type AttentionCheckShape = AttentionProblem;

/**
 * Fused attention forward (o, lse) and backward (dq, dk, dv) on random `[B, H, T|S, D]` inputs on `g`, each output's
 * closeness (≤ 1 is close) to the CPU backend `c`, labelled. Whichever attention variant is forced runs.
 */
export async function attentionErrors(
  c: Backend,
  g: Backend,
  shape: AttentionCheckShape,
  seed: number,
): Promise<{ label: string; error: number }[]> {
  const { B, Hq, Hkv, T, S, D, causal } = shape;
  const errors: { label: string; error: number }[] = [];
  const label = `B${B} Hq${Hq} Hkv${Hkv} T${T} S${S} D${D} causal=${causal}`;
  const [qc, qg] = twin(c, g, randomFloats(B * Hq * T * D, seed++, -2, 2), [B, Hq, T, D]);
  const [kc, kg] = twin(c, g, randomFloats(B * Hkv * S * D, seed++, -2, 2), [B, Hkv, S, D]);
  const [vc, vg] = twin(c, g, randomFloats(B * Hkv * S * D, seed++), [B, Hkv, S, D]);
  const scale = 1 / Math.sqrt(D);
  const fc = c.attention(qc, kc, vc, scale, causal);
  const fg = g.attention(qg, kg, vg, scale, causal);
  errors.push({ label: `o ${label}`, error: await compareStorages(c, g, fc.o, fg.o, 1e-5, 1e-4) });
  errors.push({ label: `lse ${label}`, error: await compareStorages(c, g, fc.lse, fg.lse, 1e-5, 1e-4) });
  const [dc, dg] = twin(c, g, randomFloats(B * Hq * T * D, seed++), [B, Hq, T, D]);
  const view = (s: View['storage'], shape: number[]): View => ({
    storage: s,
    shape,
    strides: shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1)),
    offset: 0,
  });
  const oShape = [B, Hq, T, D];
  const bc = c.attentionBackward(qc, kc, vc, view(fc.o, oShape), dc, view(fc.lse, [B, Hq, T]), scale, causal);
  const bg = g.attentionBackward(qg, kg, vg, view(fg.o, oShape), dg, view(fg.lse, [B, Hq, T]), scale, causal);
  errors.push({ label: `dq ${label}`, error: await compareStorages(c, g, bc.dq, bg.dq, 1e-4, 1e-3) });
  errors.push({ label: `dk ${label}`, error: await compareStorages(c, g, bc.dk, bg.dk, 1e-4, 1e-3) });
  errors.push({ label: `dv ${label}`, error: await compareStorages(c, g, bc.dv, bg.dv, 1e-4, 1e-3) });
  for (const s of [fg.o, fg.lse, bg.dq, bg.dk, bg.dv, qg.storage, kg.storage, vg.storage, dg.storage]) g.free(s);
  return errors;
}
