/**
 * The contract between the tensor front end (Tensor, ops, autograd) and a compute backend.
 *
 * A backend owns storages (flat, typed buffers) and runs kernels on strided views of them.
 * Views carry shape, strides and an element offset, so transpose/permute/slice/expand never
 * copy: every kernel that takes a `View` reads through its strides (a broadcast dimension has
 * stride 0). Every kernel returns a new, contiguous, row-major storage that the caller owns.
 *
 * Kernels are asynchronous on the device but synchronous to call: they enqueue work and return
 * the output storage at once. Only `read` waits for the device. Backends must keep results
 * identical in meaning; the CPU backend is the reference every other backend is tested against.
 *
 * @module
 */

/**
 * Element types a storage can hold. The half types (IEEE binary16 and bfloat16, 2 bytes each) are storage formats:
 * matmul reads them (accumulating in float32), copies and casts convert them, every other op asks for float32.
 */
export type DType = 'float32' | 'int32' | 'float16' | 'bfloat16';

/** The 2-byte floating-point dtypes. */
export type HalfDType = 'float16' | 'bfloat16';

/** The typed array that holds a dtype's elements on the host (half types are decoded to float32 on the host). */
export type HostArray<D extends DType = DType> = D extends 'int32' ? Int32Array : Float32Array;

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Record<DType, number> = { float32: 4, int32: 4, float16: 2, bfloat16: 2 };

/** True for float16 and bfloat16. */
export function isHalf(dtype: DType): dtype is HalfDType {
  return dtype === 'float16' || dtype === 'bfloat16';
}

/**
 * Weight formats a block weight may hold (ggml's names): half floats and GGUF's block-quantized layouts. The raw file
 * bytes live in an int32 storage used as 32-bit words; kernels decode them (see `blockMatmul`).
 */
export type BlockType = 'F16' | 'BF16' | 'Q8_0' | 'Q4_0' | 'Q4_K' | 'Q6_K';

/** Names of the built-in backends. */
export type BackendName = 'webgpu' | 'cpu';

/** A flat buffer of `size` elements owned by one backend. Freed exactly once with `Backend.free`. */
export interface Storage {
  readonly backend: BackendName;
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
}

/** A strided window on a storage: element `[i0, i1, …]` lives at `offset + Σ ik·strides[k]`. */
export interface View {
  readonly storage: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** Elementwise functions of one argument. Integer inputs are only valid for neg, abs, sign, square. */
export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'abs'
  | 'sign'
  | 'square'
  | 'reciprocal'
  | 'relu'
  | 'silu'
  | 'gelu' // tanh approximation, as GPT-2 and PyTorch's approximate='tanh'
  | 'tanh'
  | 'sigmoid'
  | 'sin'
  | 'cos';

/** Elementwise functions of two broadcast arguments. Comparisons return float32 0/1 (int32 if both inputs are int32). */
export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge';

/** Reductions over a set of axes. `argmax` returns int32 indices of the first maximum (only one axis). */
export type ReduceOp = 'sum' | 'max' | 'min' | 'argmax';

/** Which rotary layout: Meta/GGUF pairs (2i, 2i+1); Hugging Face pairs (i, i + d/2). */
export type RopeStyle = 'interleaved' | 'half';

/** Hyper-parameters of one fused AdamW step (decoupled weight decay). */
export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number, for bias correction. */
  step: number;
}

/**
 * Per-row settings of a batched token draw ({@link Backend.sampleTokens}), packed by the `sampleTokens` op. Row r's
 * sparse logit adjustments are entries `entryStart[r] … entryStart[r + 1] - 1` (ids unique within a row): the
 * adjusted logit is `((x + bias) · scale) − penalty` in float32 steps, `scale` being `scalePositive` when
 * `x + bias > 0`, else `scaleNegative` (a repetition penalty r gives 1/r and r).
 */
export interface SamplingRows {
  /** `[rows]`: 0 means greedy (first maximum of the adjusted logits). */
  temperature: Float64Array;
  /** `[rows]`: keep the k best adjusted logits (ties: lowest ids); 0 keeps all. */
  topK: Int32Array;
  /** `[rows]`: nucleus mass in (0, 1]. */
  topP: Float64Array;
  /** `[rows]`: the row's uniform draw in [0, 1). */
  uniform: Float64Array;
  /** `[rows + 1]`: CSR offsets into the entry arrays. */
  entryStart: Int32Array;
  /** `[entries]`: token ids. */
  entryIds: Int32Array;
  /** `[entries]`: logit bias. */
  bias: Float32Array;
  /** `[entries]`: factor for a positive biased logit. */
  scalePositive: Float32Array;
  /** `[entries]`: factor for a non-positive biased logit. */
  scaleNegative: Float32Array;
  /** `[entries]`: frequency + presence penalty, subtracted last. */
  penalty: Float32Array;
}

/** What {@link Backend.sampleTokens} returns; the log-probability storages only when asked for. */
export interface SampledStorages {
  /** int32 [rows]: the chosen token ids. */
  ids: Storage;
  /** float32 [rows]: the chosen tokens' log-softmax of the raw logits (topLogprobs ≥ 0). */
  logprob?: Storage;
  /** int32 [rows, n]: the n most likely raw-logit ids per row, best first, ties by lowest id (n > 0). */
  topIds?: Storage;
  /** float32 [rows, n]: their log-probabilities (n > 0). */
  topLogprobs?: Storage;
}

/**
 * Where a paged-KV index keeps its parts in one contiguous int32 storage: per query row its sequence `[rows]`, the
 * number of positions it attends `[rows]` and the pool row its own key/value goes to `[rows]`, then the block table
 * `[seqs, maxBlocks]` (pool block ids). See `ops/paged-attention.ts`.
 */
export interface PagedIndexLayout {
  /** Query rows. */
  rows: number;
  /** Sequences (block-table rows). */
  seqs: number;
  /** Block-table columns. */
  maxBlocks: number;
  /** Positions per block. */
  blockSize: number;
}

/** A run of consecutive rows that `copyRows` copies: rows [from, from + rows) to rows [to, to + rows). */
export interface RowRun {
  /** First source row. */
  from: number;
  /** First destination row. */
  to: number;
  /** Rows in the run (≥ 1). */
  rows: number;
}

/** Statistics of a backend's memory, in elements of storages it currently holds. */
export interface BackendMemory {
  /** Bytes held by live storages. */
  bytesInUse: number;
  /** Bytes parked in the reuse pool (allocated on the device, not live). */
  bytesPooled: number;
}

/**
 * A compute backend. All `View` arguments may be non-contiguous unless a kernel says `contiguous`.
 * Shapes passed to kernels are already validated by the ops; backends may assume them valid.
 */
export interface Backend {
  readonly name: BackendName;

  // ---- storage --------------------------------------------------------------------------
  /** A new storage of `size` elements; contents unspecified. */
  alloc(dtype: DType, size: number): Storage;
  /** Returns a storage to the backend. Safe while queued kernels still read it. */
  free(storage: Storage): void;
  /** Copies host data into a storage (whole storage); float32 data for a half storage is rounded to nearest even. */
  write(storage: Storage, data: Float32Array | Int32Array): void;
  /** Reads a whole storage back to the host (half storages decoded to float32). The only GPU→CPU transfer. */
  read(storage: Storage): Promise<Float32Array | Int32Array>;
  /** Submits all queued work now. */
  flush(): void;
  /** Resolves when every queued kernel has finished. */
  sync(): Promise<void>;
  memory(): BackendMemory;
  /** Releases the device. The backend is unusable afterwards. */
  destroy(): void;

  // ---- creation -------------------------------------------------------------------------
  /** Every element = value. */
  fill(dtype: DType, size: number, value: number): Storage;
  /** [start, start+step, …] of length size. */
  arange(dtype: DType, size: number, start: number, step: number): Storage;
  /**
   * Counter-based random numbers, identical on every backend for the same (seed, offset):
   * element i is a function of (seed, offset + i) only. `uniform` gives [0, 1), `normal` N(0, 1).
   * The generator is defined in `random/philox.ts` (Philox4x32-10) and every backend implements it bit-exactly
   * up to float rounding of the final transform.
   */
  random(kind: 'uniform' | 'normal', size: number, seed: number, offset: number): Storage;

  // ---- elementwise ----------------------------------------------------------------------
  /** out[shape(x)] = op(x). */
  unary(op: UnaryOp, x: View): Storage;
  /** out[outShape] = op(a, b); a and b are views already expanded to outShape (stride 0 on broadcast axes). */
  binary(op: BinaryOp, a: View, b: View, outShape: readonly number[]): Storage;
  /** out = cond != 0 ? a : b, all three expanded to outShape. */
  where(cond: View, a: View, b: View, outShape: readonly number[]): Storage;
  /**
   * A contiguous copy of a view, optionally converted to another dtype (float→int truncates toward zero; to a half
   * type rounds to nearest even, overflow to ±Infinity, NaN stays NaN).
   */
  copy(x: View, dtype?: DType): Storage;
  /**
   * Writes src into the strided window dst in place (same shape; same dtype, or a float32 src into a half dst, rounded
   * to nearest even). Used for concat, slice assignment and KV-cache appends. dst's elements must not alias each other.
   */
  copyInto(dst: View, src: View): void;

  // ---- reductions -----------------------------------------------------------------------
  /** Reduces `axes` (sorted, unique, non-empty) away: output shape is x.shape without those axes. */
  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage;

  // ---- linear algebra -------------------------------------------------------------------
  /**
   * Batched matrix product. a: [...batchA, M, K], b: [...batchB, K, N], both views (a transposed operand is a view
   * with swapped strides), batch dims already broadcast to `batchShape` (stride 0 where broadcast). Either operand may
   * be float16 or bfloat16: elements are decoded to float32, multiplied and accumulated in float32 (or wider).
   * Output contiguous [...batchShape, M, N], float32.
   */
  matmul(a: View, b: View, batchShape: readonly number[]): Storage;

  /**
   * x [M, K] (float32, contiguous) · Wᵀ for a weight W [N, K] of `type` in the int32 storage `weight`, as
   * {@link Backend.packBlockWeight} laid it out (without that method: the raw bytes, rows of whole blocks along K,
   * row n at byte n·rowBytes) → [M, N] float32, accumulated in float32 or wider.
   */
  blockMatmul(x: View, weight: Storage, type: BlockType, n: number, k: number): Storage;
  /**
   * Optional: uploads the GGUF bytes of a weight [N, K] of `type` in a backend-specific layout (same bits per weight)
   * that its `blockMatmul` reads. Backends without it keep the raw bytes (as int32 words).
   */
  packBlockWeight?(type: BlockType, n: number, k: number, bytes: Uint8Array): Storage;
  /** The exact GGUF bytes back from a storage written by {@link Backend.packBlockWeight} (reads the device). */
  unpackBlockWeight?(weight: Storage, type: BlockType, n: number, k: number): Promise<Uint8Array>;

  /**
   * Optional: told that `weight` (the int32 storage of a block weight, just written) will be read by `blockMatmul`
   * for the rest of its life, so a backend can place it where its kernels read it now, during the load, rather than
   * on first use (CPU: into the SIMD kernels' wasm memory, releasing the JS copy tensor by tensor).
   */
  placeBlockWeight?(weight: Storage): void;

  // ---- indexing -------------------------------------------------------------------------
  /** Rows of a table: table [V, D], ids int32 [N] (contiguous) → [N, D]. Ids are pre-validated in range. */
  gather(table: View, ids: View): Storage;
  /**
   * Rows of a block weight [rows, k] of `type` (stored as {@link Backend.blockMatmul} reads it): ids int32 [N]
   * (contiguous) → [N, k] float32, decoded with ggml's definitions. Ids are pre-validated in range when the host
   * knows them; a backend must not read outside the weight for others.
   */
  blockGather(weight: Storage, ids: View, type: BlockType, rows: number, k: number): Storage;
  /** Adds rows into a zero table: src [N, D], ids int32 [N] → [V, D] with out[ids[n]] += src[n]. */
  scatterAdd(src: View, ids: View, rows: number): Storage;

  // ---- fused kernels (inputs contiguous) ------------------------------------------------
  /** Softmax (or log-softmax) over the last axis of a contiguous [rows, cols]. */
  softmax(x: View, rows: number, cols: number, log: boolean): Storage;
  /**
   * Fused cross-entropy. logits [N, V] contiguous, targets int32 [N]. Returns per-row loss (0 where the target is
   * `ignoreIndex`) and per-row logsumexp, both [N] float32.
   */
  crossEntropy(logits: View, targets: View, ignoreIndex: number): { loss: Storage; lse: Storage };
  /** d logits [N, V] = (softmax(logits) - onehot(target)) · gradLoss[row] (0 for ignored rows). gradLoss [N]. */
  crossEntropyBackward(logits: View, targets: View, lse: View, gradLoss: View, ignoreIndex: number): Storage;
  /** y = x · rsqrt(mean(x², last axis) + eps) · weight; x [rows, dim], weight [dim]. Also returns rstd [rows]. */
  rmsNorm(x: View, weight: View, eps: number): { y: Storage; rstd: Storage };
  /** Gradients of rmsNorm: dx [rows, dim] and dweight [dim]. */
  rmsNormBackward(dy: View, x: View, weight: View, rstd: View): { dx: Storage; dweight: Storage };
  /**
   * Optional fused SwiGLU: silu(gate) · up elementwise over contiguous views of one size (one dispatch instead of
   * two). Backends without it get the composition from the op.
   */
  swiglu?(gate: View, up: View): Storage;
  /**
   * Optional fused residual add + RMSNorm over contiguous x, residual [rows, dim]: sum = x + residual, and y, rstd
   * of rmsNorm(sum) in one pass. Backends without it get the composition from the op.
   */
  addRmsNorm?(x: View, residual: View, weight: View, eps: number): { sum: Storage; y: Storage; rstd: Storage };
  /** Gradients of {@link Backend.swiglu} for dy: dgate and dup in one pass. */
  swigluBackward?(dy: View, gate: View, up: View): { dgate: Storage; dup: Storage };
  /**
   * Optional grouped linear (`linearMany`, `linearResidual`): rows x [M, K] times each weight W_p [N_p, K]ᵀ (1–3
   * weights) into one storage, part p a row-major [M, N_p] block after the earlier parts; with `residual` [M, N] (one
   * weight only) the block is residual + x · Wᵀ. One dispatch where the backend counts them.
   */
  linearParts?(x: View, weights: readonly View[], residual: View | null): Storage;
  /** Input gradient of {@link Backend.linearParts}: Σ_p dy_p [M, N_p] · W_p [N_p, K] → [M, K] in one pass. */
  linearPartsInputGrad?(dys: readonly View[], weights: readonly View[]): Storage;
  /** Weight gradients of {@link Backend.linearParts}: dy_pᵀ · x → [N_p, K] for each part, in one pass. */
  linearPartsWeightGrad?(dys: readonly View[], x: View): Storage[];
  /**
   * Rotary position embedding on x [batch, seq, heads, headDim] (contiguous), positions int32 [seq] or [batch, seq].
   * Angle for pair i at position p: p · theta^(-2i/headDim). `inverse` rotates by the negative angle (the backward).
   */
  rope(x: View, positions: View, theta: number, style: RopeStyle, inverse: boolean): Storage;
  /**
   * Causal (or full) scaled-dot-product attention, tiled so memory is O(T·d) per head.
   * q [B, Hq, T, D], k and v [B, Hkv, S, D] (contiguous), Hq a multiple of Hkv (grouped-query heads share k/v).
   * With `causal`, query t sees keys s ≤ t + (S − T) (so decoding with a cache works). Returns o [B, Hq, T, D] and
   * the log-sum-exp of the scaled scores lse [B, Hq, T] for the backward pass.
   */
  attention(q: View, k: View, v: View, scale: number, causal: boolean): { o: Storage; lse: Storage };
  /** Gradients of attention given dO, O and the forward's lse: dq, dk, dv with the shapes of q, k, v. */
  attentionBackward(
    q: View,
    k: View,
    v: View,
    o: View,
    dO: View,
    lse: View,
    scale: number,
    causal: boolean,
  ): { dq: Storage; dk: Storage; dv: Storage };

  // ---- sampling -------------------------------------------------------------------------
  /**
   * One token per row of contiguous float32 logits [rows, vocab] under `rows`' settings (see the `sampleTokens` op
   * for the exact definition every backend follows); with `topLogprobs` = n ≥ 0 also the chosen token's
   * log-probability and, for n > 0, the n most likely tokens' (of the raw logits).
   */
  sampleTokens(logits: View, rows: SamplingRows, topLogprobs: number): SampledStorages;

  // ---- paged attention ------------------------------------------------------------------
  /**
   * Paged attention (inference): q [N, Hq, D] contiguous; kPool, vPool [numBlocks, blockSize, Hkv, D] contiguous; row
   * n attends positions [0, rowKeys[n]) of sequence rowSeq[n], position p at pool row
   * blockTable[seq, ⌊p / blockSize⌋]·blockSize + p mod blockSize. Returns o [N, Hq, D] (zeros for a row with no key).
   */
  pagedAttention(q: View, kPool: View, vPool: View, index: View, layout: PagedIndexLayout, scale: number): Storage;
  /**
   * In place: row rowSlot[n] of `pool` (contiguous, rows of W = src.shape[1] elements) = src[n] for src [N, W]
   * (contiguous). The index's rowSlot entries are distinct.
   */
  writePagedRows(pool: Storage, src: View, index: View, layout: PagedIndexLayout): void;
  /**
   * In place on a float32 (or float16 / bfloat16: its bits) storage read as rows of `width` elements: for each run, rows [to, to + rows) = rows
   * [from, from + rows) as they were before the call (every run reads before any run writes). Runs are in range and
   * their destination rows distinct (the `copyRows` op checks).
   */
  copyRows(pool: Storage, width: number, runs: readonly RowRun[]): void;

  // ---- optimiser ------------------------------------------------------------------------
  /**
   * One fused AdamW update in place on contiguous float32 storages of equal size: param, grad, m, v.
   * `gradScale` (a 1-element storage, optional) multiplies the gradient first: it carries global-norm clipping
   * without a readback. Weight decay is decoupled: p -= lr · wd · p.
   */
  adamw(param: Storage, grad: Storage, m: Storage, v: Storage, hyper: AdamWHyper, gradScale?: Storage): void;
}
