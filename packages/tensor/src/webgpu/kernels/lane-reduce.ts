/**
 * WGSL pieces for kernels that give one row (a query row, a key row, a norm row) to a group of `lanes` invocations
 * and fold the lanes' partial results at the end: `laneSum` / `laneMax` over the caller's lane group, either through
 * subgroup shuffles (no barriers; needs the `subgroups` feature and lane groups no larger than the smallest
 * subgroup) or through a workgroup-memory tree (every adapter, the compatibility level included).
 *
 * WGSL fixes no mapping from `local_invocation_index` to subgroup lanes, so the subgroup form does not assume one:
 * lanes are grouped by `subgroup_invocation_id`, and each group's leader draws the group's slot (which row it owns)
 * from a workgroup atomic and shuffles it to its lanes. With `rankSlots` the leaders set their bits in a workgroup
 * bitmask instead and, after a barrier, a group's slot is its leader's rank among the set bits: SwiftShader
 * (Chromium's core-level adapter without a GPU) runs a compute shader that has no barrier as independent 4-lane SIMD
 * groups, each with its own copy of workgroup memory, so in the shuffle-only kernels every group drew slot 0 and most
 * rows went unwritten (the playground's NaNs; BENCHMARKS.md "Known limits"). The barrier costs lavapipe 1.15–1.65× CPU
 * time on the row kernels, so only adapters that need it rank.
 *
 * @module
 */

/** How a lane group reduces: invocations per row, and whether subgroup shuffles do the folding. */
export interface LaneReduce {
  /** Invocations per row: a power of two ≤ the workgroup size (≤ the adapter's smallest subgroup with subgroups). */
  lanes: number;
  /** Fold with `subgroupShuffleXor` instead of workgroup memory. */
  subgroups: boolean;
  /** With subgroups: rank the lane-group leaders after a barrier instead of drawing slots from an atomic. */
  rankSlots?: boolean;
}

/** Throws unless `lanes` is a power of two that divides the workgroup size `wg`. */
export function checkLanes(op: string, r: LaneReduce, wg: number): void {
  const l = r.lanes;
  if (!(l >= 1 && l <= wg && (l & (l - 1)) === 0 && wg % l === 0)) {
    throw new Error(`webgpu.${op}: ${l} lanes per row must be a power of two dividing the workgroup size ${wg}`);
  }
}

/** `enable subgroups;` when the variant uses them (must open the shader text). */
export function laneEnable(r: LaneReduce): string {
  return r.subgroups ? 'enable subgroups;\n' : '';
}

/** Extra builtins the entry point must declare for {@link laneSetup} (append to its parameter list). */
export function laneBuiltins(r: LaneReduce): string {
  return r.subgroups ? ', @builtin(subgroup_invocation_id) sl: u32' : '';
}

/**
 * Module-scope declarations: the reduction functions `laneSum(v, li)` and `laneMax(v, li)`. Every invocation of the
 * workgroup must call them together (workgroup-uniform control flow), each with its own value.
 */
export function laneDecls(r: LaneReduce, wg: number): string {
  const L = r.lanes;
  if (r.subgroups) {
    const steps: number[] = [];
    for (let m = L >> 1; m >= 1; m >>= 1) steps.push(m);
    const fold = (op: (a: string, b: string) => string) =>
      steps.map((m) => `s = ${op('s', `subgroupShuffleXor(s, ${m}u)`)};`).join(' ');
    const slots = r.rankSlots
      ? `var<workgroup> laneLeaders: array<atomic<u32>, ${Math.ceil(wg / 32)}>;`
      : 'var<workgroup> laneSlots: atomic<u32>;';
    return `${slots}
fn laneSum(v: f32, li: u32) -> f32 { var s = v; ${fold((a, b) => `${a} + ${b}`)} return s; }
fn laneMax(v: f32, li: u32) -> f32 { var s = v; ${fold((a, b) => `max(${a}, ${b})`)} return s; }`;
  }
  const tree = (op: (a: string, b: string) => string) => `
  red[li] = v;
  workgroupBarrier();
  for (var s = ${L >> 1}u; s > 0u; s = s >> 1u) {
    if ((li & ${L - 1}u) < s) { red[li] = ${op('red[li]', 'red[li + s]')}; }
    workgroupBarrier();
  }
  let r = red[li & ~${L - 1}u];
  workgroupBarrier();
  return r;`;
  return `var<workgroup> red: array<f32, ${wg}>;
fn laneSum(v: f32, li: u32) -> f32 {${tree((a, b) => `${a} + ${b}`)}
}
fn laneMax(v: f32, li: u32) -> f32 {${tree((a, b) => `max(${a}, ${b})`)}
}`;
}

/**
 * Statements at the top of the entry point (uniform control flow: `rankSlots` holds a barrier) defining `lane`
 * (0 ≤ lane < lanes) and `slot` (0 ≤ slot < wg / lanes, the row of the workgroup's block that this lane group owns).
 */
export function laneSetup(r: LaneReduce): string {
  const L = r.lanes;
  if (!r.subgroups) return `let lane = li % ${L}u; let slot = li / ${L}u;`;
  if (!r.rankSlots)
    return `let lane = sl % ${L}u;
  var drawn = 0u;
  if (lane == 0u) { drawn = atomicAdd(&laneSlots, 1u); }
  let slot = subgroupShuffle(drawn, sl - lane);`;
  return `let lane = sl % ${L}u;
  if (lane == 0u) { atomicOr(&laneLeaders[li >> 5u], 1u << (li & 31u)); }
  workgroupBarrier();
  let laneLead = subgroupShuffle(li, sl - lane);
  var slot = countOneBits(atomicLoad(&laneLeaders[laneLead >> 5u]) & ((1u << (laneLead & 31u)) - 1u));
  for (var word = 0u; word < (laneLead >> 5u); word++) { slot += countOneBits(atomicLoad(&laneLeaders[word])); }`;
}

/** Bytes of workgroup memory {@link laneDecls} declares. */
export function laneBytes(r: LaneReduce, wg: number): number {
  if (!r.subgroups) return 4 * wg;
  return r.rankSlots ? 4 * Math.ceil(wg / 32) : 4;
}
