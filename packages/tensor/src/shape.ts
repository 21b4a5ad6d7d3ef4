/**
 * Shape arithmetic shared by the ops and both backends: sizes, strides, contiguity, broadcasting, axis normalisation.
 * Pure functions on number arrays; the one home of these helpers in the package.
 *
 * @module
 */

/** Formats a shape for error messages: `[2, 3]`. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** True when a view's elements are laid out row-major without gaps (size-1 dims may have any stride). */
export function isContiguous(view: {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}): boolean {
  let expected = 1;
  for (let i = view.shape.length - 1; i >= 0; i--) {
    const d = view.shape[i]!;
    if (d !== 1 && view.strides[i] !== expected) return false;
    expected *= d;
  }
  return true;
}

/** NumPy broadcasting of any number of shapes; throws naming `op` and the shapes when they are incompatible. */
export function broadcastShapes(op: string, ...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i]!;
      if (d === out[o]) continue;
      if (out[o] === 1) out[o] = d;
      else if (d !== 1) {
        throw new Error(`${op}: shapes ${shapes.map(fmt).join(' and ')} cannot be broadcast together (axis ${o})`);
      }
    }
  }
  return out;
}

/** Normalises a possibly negative axis against `rank`; throws naming `op` when out of range. */
export function normAxis(op: string, axis: number, rank: number, shape?: readonly number[]): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new Error(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}${shape ? ` ${fmt(shape)}` : ''}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Normalises an axis list (undefined = all axes) to sorted unique non-negative axes. */
export function normAxes(op: string, axis: number | readonly number[] | undefined, shape: readonly number[]): number[] {
  const rank = shape.length;
  if (axis === undefined) return [...Array(rank).keys()];
  const list = typeof axis === 'number' ? [axis] : axis;
  const set = new Set(list.map((a) => normAxis(op, a, rank, shape)));
  if (set.size !== list.length) throw new Error(`${op}: repeated axis in ${JSON.stringify(list)} for ${fmt(shape)}`);
  return [...set].sort((a, b) => a - b);
}

/** The shape after reducing `axes`, either dropped or kept as 1. */
export function reducedShape(shape: readonly number[], axes: readonly number[], keepdim: boolean): number[] {
  const set = new Set(axes);
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keepdim) out.push(1);
  });
  return out;
}

/** True when two shapes are equal. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** True when `shape` broadcasts to `target` under NumPy rules (each axis equal or 1; leading axes may be missing). */
export function broadcastsTo(shape: readonly number[], target: readonly number[]): boolean {
  const lead = target.length - shape.length;
  return lead >= 0 && shape.every((d, i) => d === target[lead + i] || d === 1);
}

/** Strides that view `shape` (same rank as `target`, or lower) expanded to `target`: 0 on broadcast axes. */
export function expandStrides(
  op: string,
  shape: readonly number[],
  strides: readonly number[],
  target: readonly number[],
): number[] {
  const lead = target.length - shape.length;
  if (lead < 0) throw new Error(`${op}: cannot expand ${fmt(shape)} to the lower-rank ${fmt(target)}`);
  const out = new Array<number>(target.length).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    const t = target[lead + i]!;
    if (d === t) out[lead + i] = strides[i]!;
    else if (d === 1) out[lead + i] = 0;
    else throw new Error(`${op}: cannot expand ${fmt(shape)} to ${fmt(target)} (axis ${i}: ${d} vs ${t})`);
  }
  return out;
}

/** Resolves one -1 in a requested shape against `size`; throws naming `op` when sizes disagree. */
export function resolveShape(
  op: string,
  requested: readonly number[],
  size: number,
  from: readonly number[],
): number[] {
  const shape = [...requested];
  const minus = shape.indexOf(-1);
  if (minus !== shape.lastIndexOf(-1)) throw new Error(`${op}: only one -1 allowed in ${fmt(requested)}`);
  if (minus >= 0) {
    const known = sizeOf(shape.filter((_, i) => i !== minus));
    if (known === 0 || size % known !== 0) {
      throw new Error(`${op}: cannot reshape ${fmt(from)} (${size} elements) to ${fmt(requested)}`);
    }
    shape[minus] = size / known;
  }
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(shape) !== size) {
    throw new Error(`${op}: cannot reshape ${fmt(from)} (${size} elements) to ${fmt(requested)}`);
  }
  return shape;
}
