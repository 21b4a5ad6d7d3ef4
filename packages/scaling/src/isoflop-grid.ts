/**
 * The grid of a scaling sweep: model shapes derived from a base shape by a width/depth rule that keeps the LLaMA
 * layout, and IsoFLOP points (several sizes per compute budget, D = C/(6N)) as in Chinchilla's approach 2.
 *
 * @module
 */

/** The fields of a LLaMA config that the width/depth rule sets (Hugging Face names). */
export interface ModelShape {
  hidden_size: number;
  /** SwiGLU width. */
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
}

/**
 * A shape of width `hidden` derived from `base` the way the LLaMA family grows: the head size stays fixed (heads =
 * d / head size), the query-to-key/value head ratio stays fixed (grouped-query attention), and depth follows width at
 * the base's aspect ratio d / layers (nano and tiny both have 32), rounded, at least one layer, and the SwiGLU width
 * keeps the base's ratio to d (4 for nano and tiny; ≈ 8/3 for the LLaMA paper's models), rounded to a multiple of 8.
 *
 * @throws Error when `hidden` is not a multiple of head size × group ratio (the heads would not divide evenly).
 */
export function shapeForWidth(base: ModelShape, hidden: number): ModelShape {
  const headDim = base.hidden_size / base.num_attention_heads;
  const group = base.num_attention_heads / base.num_key_value_heads;
  const unit = headDim * group;
  if (!Number.isInteger(hidden) || hidden <= 0 || hidden % unit !== 0)
    throw new Error(
      `shapeForWidth: width ${hidden} must be a positive multiple of ${unit} (head size ${headDim} × ${group} query heads per key/value head)`,
    );
  const aspect = base.hidden_size / base.num_hidden_layers;
  const heads = hidden / headDim;
  const mlpRatio = base.intermediate_size / base.hidden_size;
  return {
    hidden_size: hidden,
    intermediate_size: Math.max(8, Math.round((hidden * mlpRatio) / 8) * 8),
    num_hidden_layers: Math.max(1, Math.round(hidden / aspect)),
    num_attention_heads: heads,
    num_key_value_heads: heads / group,
  };
}

/** A candidate model of the grid. */
export interface GridModel {
  shape: ModelShape;
  /** Parameter count N (as the caller counts it, e.g. `countParameters(config).total`). */
  params: number;
}

/** One run of the sweep. */
export interface GridPoint {
  /** Position in the grid (budget-major), stable across runs of the sweep: the Kubernetes completion index. */
  index: number;
  /** Index into the budgets. */
  budgetIndex: number;
  /** Nominal budget C in FLOPs. */
  flops: number;
  /** Index into the models. */
  modelIndex: number;
  model: GridModel;
  /** D = C / (6N), rounded up to whole `tokenQuantum`s (one optimizer step's tokens). */
  tokens: number;
}

/** Options of {@link isoflopGrid}. */
export interface IsoflopGridOptions {
  /** Compute budgets C in FLOPs (6·N·D). */
  budgets: readonly number[];
  /** Candidate models, in any order. */
  models: readonly GridModel[];
  /** Sizes per budget: the consecutive models (by N) centred where D/N is closest to `tokensPerParameter`. */
  perBudget: number;
  /** Where to centre each budget's sizes. Default 20 (Chinchilla's rule of thumb). */
  tokensPerParameter?: number;
  /** Tokens are whole multiples of this (tokens per optimizer step). Default 1. */
  tokenQuantum?: number;
  /** Drop points with fewer tokens than this (the run would be shorter than its warmup). Default 0. */
  minTokens?: number;
}

/**
 * The IsoFLOP grid: for each budget, `perBudget` consecutive model sizes around the size whose D/N is nearest
 * `tokensPerParameter`, each with D = C/(6N). Points are numbered budget-major.
 *
 * @throws Error for an empty or non-positive budget list, too few models, or a bad `perBudget`.
 */
export function isoflopGrid(options: IsoflopGridOptions): GridPoint[] {
  const { budgets, perBudget } = options;
  if (budgets.length === 0 || budgets.some((c) => !(c > 0)))
    throw new Error(`isoflopGrid: budgets must be positive FLOP counts, got [${budgets.join(', ')}]`);
  if (!Number.isInteger(perBudget) || perBudget < 1 || perBudget > options.models.length)
    throw new Error(
      `isoflopGrid: perBudget must be an integer in [1, ${options.models.length}] (the number of models), got ${perBudget}`,
    );
  const models = [...options.models].sort((a, b) => a.params - b.params);
  const ratio = options.tokensPerParameter ?? 20;
  const quantum = options.tokenQuantum ?? 1;
  const points: GridPoint[] = [];
  for (const [budgetIndex, flops] of budgets.entries()) {
    // D/N = C/(6N²): the model nearest the target ratio in log space is the centre.
    const distance = (m: GridModel) => Math.abs(Math.log(flops / (6 * m.params * m.params) / ratio));
    let centre = 0;
    for (let i = 1; i < models.length; i++) if (distance(models[i]!) < distance(models[centre]!)) centre = i;
    const first = Math.min(Math.max(0, centre - Math.floor((perBudget - 1) / 2)), models.length - perBudget);
    for (let i = first; i < first + perBudget; i++) {
      const model = models[i]!;
      const tokens = Math.ceil(flops / (6 * model.params) / quantum) * quantum;
      if (tokens < (options.minTokens ?? 0)) continue;
      points.push({ index: points.length, budgetIndex, flops, modelIndex: i, model, tokens });
    }
  }
  return points;
}
