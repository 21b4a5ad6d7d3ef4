/**
 * Register-blocked matmul kernels for one [M, K] · [K, N] matrix product, float64 accumulation (JS numbers).
 *
 * Scalar JS tops out at roughly one multiply-add per cycle, so the win is not in the arithmetic but in loads: a
 * 4 × 4 tile keeps 16 accumulators in registers and feeds each loaded element of A and of B to 4 of them, where
 * a row-at-a-time loop loads two elements per multiply-add and sweeps all of B once per row of A. Rows of A are
 * visited in blocks of {@link ROW_BLOCK} so a block stays in cache while B streams past it once per block.
 *
 * @module
 */

/** Rows of A per cache block: ROW_BLOCK × K floats of A stay cache-resident while B streams past them once. */
const ROW_BLOCK = 64;
/** Floats of B packed per panel of the row-major form (×4 bytes: 128 KiB, an L2-sized slice of B). */
const PANEL_FLOATS = 32768;

/**
 * out[i, j] = Σ_k a[i, k]·w[j, k]: b is column-major, i.e. stored as a row-major [N, K] matrix w (a transposed
 * Linear weight). Tiles of 4 rows of A × 4 rows of w; leftover rows of A use a 1 × 4 tile, leftover rows of w
 * plain dot products.
 */
export function dotForm(
  A: Float32Array,
  aBase: number,
  W: Float32Array,
  wBase: number,
  o: Float32Array,
  oBase: number,
  M: number,
  K: number,
  N: number,
): void {
  const N4 = N - (N % 4);
  for (let i0 = 0; i0 < M; i0 += ROW_BLOCK) {
    const i1 = Math.min(M, i0 + ROW_BLOCK);
    const i4 = i1 - ((i1 - i0) % 4);
    for (let j = 0; j < N4; j += 4) {
      const w = wBase + j * K;
      for (let i = i0; i < i4; i += 4) dot4x4(A, aBase + i * K, W, w, o, oBase + i * N + j, K, N);
      for (let i = i4; i < i1; i++) dot1x4(A, aBase + i * K, W, w, o, oBase + i * N + j, K);
    }
    for (let j = N4; j < N; j++) {
      for (let i = i0; i < i1; i++) o[oBase + i * N + j] = dot(A, aBase + i * K, W, wBase + j * K, K);
    }
  }
}

/** 4 rows of A (from a, stride K) against 4 rows of w (from w, stride K) into o[r..r+3, c..c+3] (row stride N). */
function dot4x4(
  A: Float32Array,
  a: number,
  W: Float32Array,
  w: number,
  o: Float32Array,
  r: number,
  K: number,
  N: number,
) {
  const a1 = a + K;
  const a2 = a1 + K;
  const a3 = a2 + K;
  const w1 = w + K;
  const w2 = w1 + K;
  const w3 = w2 + K;
  let s00 = 0,
    s01 = 0,
    s02 = 0,
    s03 = 0,
    s10 = 0,
    s11 = 0,
    s12 = 0,
    s13 = 0;
  let s20 = 0,
    s21 = 0,
    s22 = 0,
    s23 = 0,
    s30 = 0,
    s31 = 0,
    s32 = 0,
    s33 = 0;
  for (let k = 0; k < K; k++) {
    const x0 = A[a + k]!;
    const x1 = A[a1 + k]!;
    const x2 = A[a2 + k]!;
    const x3 = A[a3 + k]!;
    const y0 = W[w + k]!;
    const y1 = W[w1 + k]!;
    const y2 = W[w2 + k]!;
    const y3 = W[w3 + k]!;
    s00 += x0 * y0;
    s01 += x0 * y1;
    s02 += x0 * y2;
    s03 += x0 * y3;
    s10 += x1 * y0;
    s11 += x1 * y1;
    s12 += x1 * y2;
    s13 += x1 * y3;
    s20 += x2 * y0;
    s21 += x2 * y1;
    s22 += x2 * y2;
    s23 += x2 * y3;
    s30 += x3 * y0;
    s31 += x3 * y1;
    s32 += x3 * y2;
    s33 += x3 * y3;
  }
  store4(o, r, s00, s01, s02, s03);
  store4(o, r + N, s10, s11, s12, s13);
  store4(o, r + 2 * N, s20, s21, s22, s23);
  store4(o, r + 3 * N, s30, s31, s32, s33);
}

/** One row of A against 4 rows of w; k unrolled by 2 so 8 independent sums hide the add latency (decode rows). */
function dot1x4(A: Float32Array, a: number, W: Float32Array, w: number, o: Float32Array, r: number, K: number) {
  const w1 = w + K;
  const w2 = w1 + K;
  const w3 = w2 + K;
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0,
    t0 = 0,
    t1 = 0,
    t2 = 0,
    t3 = 0;
  const K2 = K - (K % 2);
  let k = 0;
  for (; k < K2; k += 2) {
    const x = A[a + k]!;
    const z = A[a + k + 1]!;
    s0 += x * W[w + k]!;
    s1 += x * W[w1 + k]!;
    s2 += x * W[w2 + k]!;
    s3 += x * W[w3 + k]!;
    t0 += z * W[w + k + 1]!;
    t1 += z * W[w1 + k + 1]!;
    t2 += z * W[w2 + k + 1]!;
    t3 += z * W[w3 + k + 1]!;
  }
  if (k < K) {
    const x = A[a + k]!;
    s0 += x * W[w + k]!;
    s1 += x * W[w1 + k]!;
    s2 += x * W[w2 + k]!;
    s3 += x * W[w3 + k]!;
  }
  store4(o, r, s0 + t0, s1 + t1, s2 + t2, s3 + t3);
}

/** Σ_k x[a + k]·y[b + k]. */
function dot(X: Float32Array, a: number, Y: Float32Array, b: number, K: number): number {
  let s = 0;
  for (let k = 0; k < K; k++) s += X[a + k]! * Y[b + k]!;
  return s;
}

/**
 * out[i, :] = Σ_k a[i, k]·b[k, :] with b row-major [K, N]. Columns of b are packed, 4 at a time, into [K][4]
 * panels (zero-padded past N) so the 4 × 4 tile reads them contiguously and reuses each panel for every row block;
 * a single row (nothing to reuse a panel for) streams rows of b into an accumulator row instead.
 */
export function rowForm(
  A: Float32Array,
  aBase: number,
  B: Float32Array,
  bBase: number,
  o: Float32Array,
  oBase: number,
  M: number,
  K: number,
  N: number,
): void {
  if (M === 1) {
    streamRow(A, aBase, B, bBase, o, oBase, K, N);
    return;
  }
  // Panels of 4 columns each; as many per chunk as fit PANEL_FLOATS (at least one).
  const panelsPerChunk = Math.max(1, Math.floor(PANEL_FLOATS / (4 * K)));
  const P = new Float32Array(panelsPerChunk * 4 * K);
  const M4 = M - (M % 4);
  for (let j0 = 0; j0 < N; j0 += panelsPerChunk * 4) {
    const j1 = Math.min(N, j0 + panelsPerChunk * 4);
    const panels = Math.ceil((j1 - j0) / 4);
    packPanels(B, bBase, N, K, j0, j1, P);
    for (let i0 = 0; i0 < M; i0 += ROW_BLOCK) {
      const i1 = Math.min(M, i0 + ROW_BLOCK);
      const i4 = Math.min(i1, M4);
      for (let p = 0; p < panels; p++) {
        const j = j0 + 4 * p;
        const cols = Math.min(4, N - j);
        for (let i = i0; i < i4; i += 4) panel4x4(A, aBase + i * K, P, p * 4 * K, o, oBase + i * N + j, K, N, cols);
        for (let i = Math.max(i0, M4); i < i1; i++)
          panel1x4(A, aBase + i * K, P, p * 4 * K, o, oBase + i * N + j, K, cols);
      }
    }
  }
}

/** Copies columns [j0, j1) of the row-major [K, N] matrix at bBase into P as [panel][k][4], zero-padding the last. */
function packPanels(B: Float32Array, bBase: number, N: number, K: number, j0: number, j1: number, P: Float32Array) {
  for (let j = j0, p = 0; j < j1; j += 4, p += 4 * K) {
    const cols = Math.min(4, j1 - j);
    for (let k = 0; k < K; k++) {
      const src = bBase + k * N + j;
      const dst = p + 4 * k;
      for (let c = 0; c < 4; c++) P[dst + c] = c < cols ? B[src + c]! : 0;
    }
  }
}

/** 4 rows of A against one packed [K][4] panel; writes the first `cols` columns of o[r..r+3, ...]. */
function panel4x4(
  A: Float32Array,
  a: number,
  P: Float32Array,
  p: number,
  o: Float32Array,
  r: number,
  K: number,
  N: number,
  cols: number,
) {
  const a1 = a + K;
  const a2 = a1 + K;
  const a3 = a2 + K;
  let s00 = 0,
    s01 = 0,
    s02 = 0,
    s03 = 0,
    s10 = 0,
    s11 = 0,
    s12 = 0,
    s13 = 0;
  let s20 = 0,
    s21 = 0,
    s22 = 0,
    s23 = 0,
    s30 = 0,
    s31 = 0,
    s32 = 0,
    s33 = 0;
  for (let k = 0, q = p; k < K; k++, q += 4) {
    const x0 = A[a + k]!;
    const x1 = A[a1 + k]!;
    const x2 = A[a2 + k]!;
    const x3 = A[a3 + k]!;
    const y0 = P[q]!;
    const y1 = P[q + 1]!;
    const y2 = P[q + 2]!;
    const y3 = P[q + 3]!;
    s00 += x0 * y0;
    s01 += x0 * y1;
    s02 += x0 * y2;
    s03 += x0 * y3;
    s10 += x1 * y0;
    s11 += x1 * y1;
    s12 += x1 * y2;
    s13 += x1 * y3;
    s20 += x2 * y0;
    s21 += x2 * y1;
    s22 += x2 * y2;
    s23 += x2 * y3;
    s30 += x3 * y0;
    s31 += x3 * y1;
    s32 += x3 * y2;
    s33 += x3 * y3;
  }
  if (cols === 4) {
    store4(o, r, s00, s01, s02, s03);
    store4(o, r + N, s10, s11, s12, s13);
    store4(o, r + 2 * N, s20, s21, s22, s23);
    store4(o, r + 3 * N, s30, s31, s32, s33);
  } else {
    storeSome(o, r, cols, s00, s01, s02);
    storeSome(o, r + N, cols, s10, s11, s12);
    storeSome(o, r + 2 * N, cols, s20, s21, s22);
    storeSome(o, r + 3 * N, cols, s30, s31, s32);
  }
}

/** One row of A against one packed [K][4] panel; writes the first `cols` columns of o[r, ...]. */
function panel1x4(
  A: Float32Array,
  a: number,
  P: Float32Array,
  p: number,
  o: Float32Array,
  r: number,
  K: number,
  cols: number,
) {
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0;
  for (let k = 0, q = p; k < K; k++, q += 4) {
    const x = A[a + k]!;
    s0 += x * P[q]!;
    s1 += x * P[q + 1]!;
    s2 += x * P[q + 2]!;
    s3 += x * P[q + 3]!;
  }
  if (cols === 4) store4(o, r, s0, s1, s2, s3);
  else storeSome(o, r, cols, s0, s1, s2);
}

/** out[0, :] = Σ_k a[0, k]·b[k, :], b row-major: one pass over b, k unrolled by 4, into a float64 row. */
function streamRow(
  A: Float32Array,
  a: number,
  B: Float32Array,
  bBase: number,
  o: Float32Array,
  oBase: number,
  K: number,
  N: number,
) {
  const acc = new Float64Array(N);
  const K4 = K - (K % 4);
  let k = 0;
  for (; k < K4; k += 4) {
    const a0 = A[a + k]!;
    const a1 = A[a + k + 1]!;
    const a2 = A[a + k + 2]!;
    const a3 = A[a + k + 3]!;
    const r0 = bBase + k * N;
    const r1 = r0 + N;
    const r2 = r1 + N;
    const r3 = r2 + N;
    for (let j = 0; j < N; j++) acc[j]! += a0 * B[r0 + j]! + a1 * B[r1 + j]! + a2 * B[r2 + j]! + a3 * B[r3 + j]!;
  }
  for (; k < K; k++) {
    const ak = A[a + k]!;
    const r = bBase + k * N;
    for (let j = 0; j < N; j++) acc[j]! += ak * B[r + j]!;
  }
  o.set(acc, oBase);
}

function store4(o: Float32Array, r: number, v0: number, v1: number, v2: number, v3: number): void {
  o[r] = v0;
  o[r + 1] = v1;
  o[r + 2] = v2;
  o[r + 3] = v3;
}

/** The first `cols` (1–3) of a tile row; the 4th is never needed here. */
function storeSome(o: Float32Array, r: number, cols: number, v0: number, v1: number, v2: number): void {
  o[r] = v0;
  if (cols > 1) o[r + 1] = v1;
  if (cols > 2) o[r + 2] = v2;
}
