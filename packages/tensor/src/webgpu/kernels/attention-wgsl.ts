/**
 * The WGSL pieces every attention kernel is built from — without lanes (`direct`, `tiled`), with lane groups (`w…`,
 * `g…`) and paged decode: the uniform decoding, the bindings of forward / dq / dk-dv, tile staging, the causal key limit, and
 * the per-step math (the online-softmax step of the forward, the dq step, the dk/dv step) over `U` keys or queries at
 * once. Kernels differ only in where a row's keys come from (storage, a workgroup tile, a lane's share of a tile,
 * block tables) and pass those addresses in as functions.
 *
 * @module
 */

/** 0, 1, …, n − 1. */
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * WGSL for a loop of `body` over the head dim index `d` (0 ≤ d < D). The bound `dim` is the uniform word 12 (= D),
 * not a constant: with a constant bound LLVM unrolls everything and lavapipe compiles for minutes; named scalars were
 * no faster.
 */
export function headDimLoop(body: string): string {
  return `for (var d = 0u; d < dim; d++) { ${body} }`;
}

/** `const D` and `const BC` (rows per staged tile) of a kernel specialised on the head dim. */
export function attnConsts(D: number, BC: number): string {
  return `const D: u32 = ${D}u;\nconst BC: u32 = ${BC}u;`;
}

/**
 * The uniform block shared by every fused attention kernel, decoded at the top of the entry point: T, S, Hq, group
 * (query heads per k/v head), scale, causal; offsets of q, k, v, dO, lse from word 6; D in word 12.
 */
export const ATTN_UNIFORMS = `let dim = min(pu(12u), D);
  let T = pu(0u); let S = pu(1u); let Hq = pu(2u); let group = pu(3u);
  let scale = pf(4u); let causal = pu(5u) != 0u;`;

/** `kvh`: the k/v head (b·Hkv + j) that query head `bh` (b·Hq + h) reads under grouped-query attention. */
export const KV_HEAD = 'let kvh = (bh / Hq) * (Hq / group) + (bh % Hq) / group;';

/** `keyLimit(t, T, S, causal)`: query row t sees keys s < limit (causal rows see s ≤ t + S − T). */
export const KEY_LIMIT = `fn keyLimit(t: u32, T: u32, S: u32, causal: bool) -> u32 {
  if (!causal) { return S; }
  return u32(clamp(i32(t) + 1 + i32(S) - i32(T), 0, i32(S)));
}`;

const bind = (names: string[], writable: number) =>
  names
    .map(
      (n, i) => `@group(0) @binding(${i + 1}) var<storage, ${i < writable ? 'read_write' : 'read'}> ${n}: array<f32>;`,
    )
    .join('\n');

/** Forward bindings: o, lse written; q, k, v read. */
export const FORWARD_BINDINGS = bind(['o', 'lse', 'q', 'k', 'v'], 2);
/** dq bindings: dq written; q, k, v, dO (`g`), lse, delta read. */
export const DQ_BINDINGS = bind(['dq', 'q', 'k', 'v', 'g', 'lse', 'delta'], 1);
/** dk/dv bindings: dk, dv written; q, k, v, dO (`g`), lse, delta read. */
export const DKV_BINDINGS = bind(['dk', 'dv', 'q', 'k', 'v', 'g', 'lse', 'delta'], 2);

/** Workgroup arrays `names`, each `floats` long. */
export function tileDecls(names: string[], floats: number): string {
  return names.map((n) => `var<workgroup> ${n}: array<f32, ${floats}>;`).join('\n');
}

/**
 * The loop staging two [BC, D] tiles `a`, `b` from storage (element e of the tile is `srcA(e)`), `wg` invocations
 * sharing it; rows r0 + e / D ≥ `rows` read as 0. The caller adds the barrier.
 */
export function stageTiles(a: string, b: string, srcA: string, srcB: string, r0: string, rows: string, wg: number) {
  return `for (var e = li; e < BC * D; e += ${wg}u) {
      let ok = ${r0} + e / D < ${rows};
      ${a}[e] = select(0.0, ${srcA}, ok);
      ${b}[e] = select(0.0, ${srcB}, ok);
    }`;
}

/** The loop staging the [BC] logsumexp and delta rows `Ls`, `Es` of queries t0… (dk/dv kernels; rows ≥ T read 0). */
export function stageRowStats(wg: number): string {
  return `for (var e = li; e < BC; e += ${wg}u) {
        let ok = t0 + e < T;
        Ls[e] = select(0.0, lse[pu(10u) + bh * T + t0 + e], ok);
        Es[e] = select(0.0, delta[bh * T + t0 + e], ok);
      }`;
}

/** `fma(c0, x0, fma(c1, x1, … acc))`: the first term outermost, so the last term is added to `acc` first. */
export function fmaChain(terms: [string, string][], acc: string): string {
  return terms.reduceRight((inner, [c, x]) => `fma(${c}, ${x}, ${inner})`, acc);
}

/** Pairwise sum of the terms (shorter dependency chains than a left fold). */
export function pairSum(terms: string[]): string {
  if (terms.length === 1) return terms[0]!;
  const half = Math.ceil(terms.length / 2);
  return `(${pairSum(terms.slice(0, half))} + ${pairSum(terms.slice(half))})`;
}

/** The largest of the terms. */
function maxOf(terms: string[]): string {
  if (terms.length === 1) return terms[0]!;
  const half = Math.ceil(terms.length / 2);
  return `max(${maxOf(terms.slice(0, half))}, ${maxOf(terms.slice(half))})`;
}

/**
 * Where the `U` keys (or queries) of one step live, how many rows an invocation owns, and whether each key counts.
 * With `R` rows per invocation, row r's private arrays and running values carry the suffix r (`qr0`, `ar0`, `m0`,
 * …); with one row they have none (`qr`, `ar`, `m`).
 */
export interface StepAccess {
  /** Keys (or queries) per step: independent dot-product chains and one pass over the accumulators. */
  U: number;
  /** Rows (query rows; key rows in the dk/dv step) per invocation, each reusing every loaded key element. */
  R?: number;
  /** WGSL of element `d` of the u-th key (k row) of the step; in the dk/dv step, of the u-th query (q row). */
  first(u: number, d: string): string;
  /** Same for the paired operand: the v row (forward, dq), or the dO row (dk/dv). */
  second(u: number, d: string): string;
  /** WGSL bool: the u-th key (query) of the step is in range and visible to row r. */
  ok(u: number, r: number): string;
  /** Accumulate in reverse key order, innermost first (the lane kernels' order; `direct`, `tiled`: false). */
  reverse?: boolean;
  /** Sum the probabilities left to right instead of pairwise (the lane kernels' order). */
  linearSum?: boolean;
}

/** Name of row r's copy of `base` under {@link StepAccess} (no suffix with one row per invocation). */
export function rowName(base: string, r: number, R = 1): string {
  return R === 1 ? base : `${base}${r}`;
}

/** `lines(r)` for each row r < R, joined on separate lines. */
export function perRow(R: number, lines: (r: number) => string, indent = '  '): string {
  return range(R).map(lines).join(`\n${indent}`);
}

const chain = (a: StepAccess, coef: (u: number) => string, x: (u: number) => string, acc: string) => {
  const terms = range(a.U).map((u): [string, string] => [coef(u), x(u)]);
  return fmaChain(a.reverse ? terms.reverse() : terms, acc);
};

/**
 * The head-dim loop of a step: each key element is loaded once (`x_u` from `first`, `y_u` from `second`, as `loads`
 * asks) and used by every row, then `body(r)` for each row. On lavapipe a storage or private-array load indexed by a
 * loop variable is eight scalar loads (one per SIMD lane), so loads per multiply-add, not arithmetic, set the speed.
 */
function stepLoop(a: StepAccess, loads: { x?: boolean; y?: boolean }, body: (r: number) => string): string {
  const load = range(a.U).map(
    (u) => `${loads.x ? `let x${u} = ${a.first(u, 'd')}; ` : ''}${loads.y ? `let y${u} = ${a.second(u, 'd')}; ` : ''}`,
  );
  return headDimLoop(
    `${load.join('')}${range(a.R ?? 1)
      .map(body)
      .join(' ')}`,
  );
}

/**
 * One online-softmax step of the forward over `U` keys: scores against the scaled query rows `qr`, the running max
 * `m` and sum `l`, the accumulator `ar` rescaled only when the max grows.
 */
export function forwardStep(a: StepAccess): string {
  const R = a.R ?? 1;
  const U = range(a.U);
  const n = (base: string, r: number) => rowName(base, r, R);
  const rows = range(R);
  const sc = (r: number, u: number) => `s${r}_${u}`;
  // With several rows one row may see none of the step's keys while another does: its p must be 0, not exp(NaN).
  const prob = (r: number, u: number) =>
    R === 1 ? `exp(${sc(r, u)} - m)` : `select(0.0, exp(${sc(r, u)} - ${n('m', r)}), ${sc(r, u)} > -inf_())`;
  const rescale = (
    r: number,
  ) => `${U.map((u) => `${sc(r, u)} = select(-inf_(), ${sc(r, u)}, ${a.ok(u, r)});`).join(' ')}
      let mx${r} = ${maxOf(U.map((u) => sc(r, u)))};
      if (mx${r} > ${n('m', r)}) {
        // Online softmax: rescale only when the running max grows.
        let corr = exp(${n('m', r)} - mx${r});
        ${n('l', r)} = ${n('l', r)} * corr;
        ${headDimLoop(`${n('ar', r)}[d] = ${n('ar', r)}[d] * corr;`)}
        ${n('m', r)} = mx${r};
      }`;
  const probs = (r: number) => {
    const p = U.map((u) => `p${r}_${u}`);
    return `${U.map((u) => `let p${r}_${u} = ${prob(r, u)};`).join(' ')}
        ${n('l', r)} += ${a.linearSum ? p.join(' + ') : pairSum(p)};`;
  };
  return `${rows.map((r) => U.map((u) => `var ${sc(r, u)} = 0.0;`).join(' ')).join(' ')}
      ${stepLoop(a, { x: true }, (r) => `let qd${r} = ${n('qr', r)}[d]; ${U.map((u) => `${sc(r, u)} = fma(qd${r}, x${u}, ${sc(r, u)});`).join(' ')}`)}
      ${rows.map(rescale).join('\n      ')}
      if (${maxOf(rows.map((r) => `mx${r}`))} > -inf_()) {
        ${rows.map(probs).join('\n        ')}
        ${stepLoop(
          a,
          { y: true },
          (r) =>
            `${n('ar', r)}[d] = ${chain(
              a,
              (u) => `p${r}_${u}`,
              (u) => `y${u}`,
              `${n('ar', r)}[d]`,
            )};`,
        )}
      }`;
}

/**
 * One dq step over `U` keys: with the query rows `qr` (scaled), their dO rows `gr`, logsumexp `Lr` and delta `dl`,
 * dS = P ∘ (dO·Vᵀ − delta) · scale, and `ar` += dS · K.
 */
export function dqStep(a: StepAccess): string {
  const R = a.R ?? 1;
  const U = range(a.U);
  const n = (base: string, r: number) => rowName(base, r, R);
  const rows = range(R);
  return `${rows.map((r) => U.map((u) => `var s${r}_${u} = 0.0; var e${r}_${u} = 0.0;`).join(' ')).join(' ')}
      ${stepLoop(a, { x: true, y: true }, (r) => `let qd${r} = ${n('qr', r)}[d]; let gd${r} = ${n('gr', r)}[d]; ${U.map((u) => `s${r}_${u} = fma(qd${r}, x${u}, s${r}_${u}); e${r}_${u} = fma(gd${r}, y${u}, e${r}_${u});`).join(' ')}`)}
      ${rows
        .map((r) =>
          U.map(
            (u) =>
              `let ds${r}_${u} = select(0.0, exp(s${r}_${u} - ${n('Lr', r)}) * (e${r}_${u} - ${n('dl', r)}) * scale, ${a.ok(u, r)});`,
          ).join('\n      '),
        )
        .join('\n      ')}
      ${stepLoop(
        a,
        { x: true },
        (r) =>
          `${n('ar', r)}[d] = ${chain(
            a,
            (u) => `ds${r}_${u}`,
            (u) => `x${u}`,
            `${n('ar', r)}[d]`,
          )};`,
      )}`;
}

/**
 * One dk/dv step over `U` queries of the key rows `kr` (scaled) and v rows `vr`: P from the queries' logsumexp
 * (`lseOf(u)`), dV += P · dO, dK += dS · Q with dS = P ∘ (dO·Vᵀ − delta (`deltaOf(u)`)) · scale.
 */
export function dkvStep(a: StepAccess, lseOf: (u: number) => string, deltaOf: (u: number) => string): string {
  const R = a.R ?? 1;
  const U = range(a.U);
  const n = (base: string, r: number) => rowName(base, r, R);
  const rows = range(R);
  return `${rows.map((r) => U.map((u) => `var s${r}_${u} = 0.0; var e${r}_${u} = 0.0;`).join(' ')).join(' ')}
        ${stepLoop(a, { x: true, y: true }, (r) => `let kd${r} = ${n('kr', r)}[d]; let vd${r} = ${n('vr', r)}[d]; ${U.map((u) => `s${r}_${u} = fma(x${u}, kd${r}, s${r}_${u}); e${r}_${u} = fma(y${u}, vd${r}, e${r}_${u});`).join(' ')}`)}
        ${U.map((u) => `let lq${u} = ${lseOf(u)}; let dt${u} = ${deltaOf(u)};`).join(' ')}
        ${rows
          .map((r) =>
            U.map(
              (u) => `let p${r}_${u} = select(0.0, exp(s${r}_${u} - lq${u}), ${a.ok(u, r)});
        let ds${r}_${u} = p${r}_${u} * (e${r}_${u} - dt${u}) * scale;`,
            ).join('\n        '),
          )
          .join('\n        ')}
        ${stepLoop(
          a,
          { x: true, y: true },
          (r) =>
            `${n('dvr', r)}[d] = ${chain(
              a,
              (u) => `p${r}_${u}`,
              (u) => `y${u}`,
              `${n('dvr', r)}[d]`,
            )}; ${n('dkr', r)}[d] = ${chain(
              a,
              (u) => `ds${r}_${u}`,
              (u) => `x${u}`,
              `${n('dkr', r)}[d]`,
            )};`,
        )}`;
}
