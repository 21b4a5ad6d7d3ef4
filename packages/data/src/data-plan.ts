import type { ShardManifest } from './prepare/shard-manifest.js';

/**
 * Epochs per source in the LLaMA paper's 1.4T-token run (Touvron et al. 2023, Table 1): how often the paper let each
 * source repeat. Wikipedia and Books were seen about 2.4 times; everything else about once.
 */
export const llamaPaperEpochs: Readonly<Record<string, number>> = {
  CommonCrawl: 1.1,
  C4: 1.06,
  GitHub: 0.64,
  Wikipedia: 2.45,
  Books: 2.23,
  ArXiv: 1.06,
  StackExchange: 1.03,
};

const aliases: Record<string, string> = {
  commoncrawl: 'CommonCrawl',
  cc: 'CommonCrawl',
  ccnet: 'CommonCrawl',
  c4: 'C4',
  github: 'GitHub',
  wikipedia: 'Wikipedia',
  books: 'Books',
  gutenberg: 'Books',
  books3: 'Books',
  arxiv: 'ArXiv',
  stackexchange: 'StackExchange',
};

/** One source of a data plan: the tokens it holds after cleaning and the share of the budget its weight draws. */
export interface SourceEpochPlan {
  /** Source name. */
  name: string;
  /** Share of the token budget drawn from it: weight / Σ weights. */
  share: number;
  /** Training tokens it holds (cleaned tokens plus a BOS and an EOS per document when the tokenizer has them). */
  tokensAvailable: number;
  /** Tokens the budget draws from it: share × budget. */
  tokensDrawn: number;
  /** tokensDrawn / tokensAvailable: how many times the source is repeated. */
  epochs: number;
  /** The paper's epochs for this kind of source, when the name matches one (case-insensitive; Gutenberg/Books3 → Books). */
  paperEpochs?: number;
  /** The mixture's `epochs` limit of the source, when set. */
  epochLimit?: number;
  /** Why this source needs a look, if it does. */
  warning?: string;
}

/** Sources as the planner needs them. */
export interface PlanSource {
  /** Source name. */
  name: string;
  /** Mixture weight. */
  weight: number;
  /** Tokens after cleaning. */
  tokens: number;
  /** Documents after cleaning. */
  documents: number;
  /** Mixture epoch limit. */
  epochs?: number;
}

/** The sources of a shard manifest for {@link planSourceEpochs}. */
export function planSourcesFromManifest(manifest: ShardManifest): PlanSource[] {
  return manifest.sources.map((s) => ({
    name: s.name,
    weight: s.weight,
    tokens: s.kept.tokens,
    documents: s.kept.documents,
    ...(s.epochs === undefined ? {} : { epochs: s.epochs }),
  }));
}

/**
 * Epochs each source gets when `tokenBudget` training tokens are drawn in proportion to the weights, with a warning
 * where a source would be repeated more than the paper repeated its kind (or, for other names, more than the paper's
 * most repeated source, Wikipedia's 2.45), or where the mixture's epoch limit would exhaust it first (the loader then
 * gives its share to the others).
 *
 * @param specialTokensPerDocument tokens the loader adds per document (BOS + EOS: 2 for LLaMA tokenizers).
 */
export function planSourceEpochs(
  sources: readonly PlanSource[],
  tokenBudget: number,
  specialTokensPerDocument = 2,
): SourceEpochPlan[] {
  if (!(tokenBudget > 0)) throw new Error(`planSourceEpochs: tokenBudget must be positive, got ${tokenBudget}`);
  const total = sources.reduce((s, x) => s + x.weight, 0);
  const maxPaper = Math.max(...Object.values(llamaPaperEpochs));
  return sources.map((s) => {
    const share = s.weight / total;
    const tokensAvailable = s.tokens + specialTokensPerDocument * s.documents;
    const tokensDrawn = share * tokenBudget;
    const epochs = tokensAvailable > 0 ? tokensDrawn / tokensAvailable : Number.POSITIVE_INFINITY;
    const kind = aliases[s.name.toLowerCase()];
    const paperEpochs = kind === undefined ? undefined : llamaPaperEpochs[kind];
    const plan: SourceEpochPlan = { name: s.name, share, tokensAvailable, tokensDrawn, epochs };
    if (paperEpochs !== undefined) plan.paperEpochs = paperEpochs;
    if (s.epochs !== undefined) plan.epochLimit = s.epochs;
    if (s.epochs !== undefined && epochs > s.epochs) {
      plan.warning = `its epochs limit ${s.epochs} runs out after ${((s.epochs / epochs) * 100).toFixed(0)}% of its share`;
    } else if (epochs > (paperEpochs ?? maxPaper)) {
      plan.warning =
        paperEpochs === undefined
          ? `repeated ${epochs.toFixed(2)}×, more than any source of the paper (${maxPaper})`
          : `repeated ${epochs.toFixed(2)}×, more than the paper's ${paperEpochs} for ${kind}`;
    }
    return plan;
  });
}
