/**
 * The data side of a run: the mixture named by the config, the run's tokenizer (trained on the training split or
 * loaded), and the fixed validation batches with the unigram baseline. Everything here calls @andes/data and
 * @andes/tokenizer; this file only decides what to call with which settings.
 *
 * @module
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  type Batch,
  corpusFormatOf,
  createLoader,
  type MixtureConfig,
  parseMixtureConfig,
  planValidationSplit,
  syntheticMixture,
  trainTokenizerOnMixture,
  unigramCrossEntropy,
} from '@andes/data';
import { isGlobPattern, mixtureFromManifest, parseShardManifest, type ShardManifest } from '@andes/data/node';
import { type FileWriter, loadTokenizer, type Tokenizer } from '@andes/tokenizer';
import { ConfigError, type TrainConfig } from './config.js';

/** A mixture and the directory its relative paths are resolved against. */
export interface ResolvedMixture {
  mixture: MixtureConfig;
  baseDir: string;
  /** The manifest when the data is a shard directory (its tokenizer must be the run's). */
  shardManifest?: ShardManifest;
}

/** Seed of the built-in story corpus: fixed, so every run sees the same corpus whatever its training seed. */
const STORY_CORPUS_SEED = 0;

/**
 * The mixture of a single data file or shard directory given as `--data`: a directory with `manifest.json` → its
 * shards with the prepared weights and epochs; `.jsonl`, `.jsonl.gz`, `.json.gz`, `.jsonl.zst` → one JSONL source;
 * `.parquet` → one Parquet source (`text` column); `.tok` → one shard; null for anything else.
 */
function corpusMixture(path: string, cwd: string): ResolvedMixture | null {
  if (statSync(path).isDirectory()) {
    const manifestPath = join(path, 'manifest.json');
    if (!existsSync(manifestPath)) return null;
    try {
      const manifest = parseShardManifest(JSON.parse(readFileSync(manifestPath, 'utf8')), manifestPath);
      return { mixture: mixtureFromManifest(manifest), baseDir: path, shardManifest: manifest };
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  const format = corpusFormatOf(path);
  if (format === 'text') return null;
  const type = format === 'parquet' ? 'parquet' : format === 'shard' ? 'shards' : 'jsonl';
  return { mixture: { sources: [{ name: 'data', type, path, weight: 1 }] }, baseDir: cwd };
}

/**
 * The mixture of `config.data`: `stories` → the synthetic corpus; `*.json` → a mixture file; a shard directory or a
 * JSONL/Parquet/shard file → that corpus (see `corpusMixture`); another path → one text file (paragraphs are
 * documents); an object → an inline mixture.
 */
export function resolveMixture(data: TrainConfig['data'], cwd = process.cwd()): ResolvedMixture {
  if (typeof data === 'object') {
    try {
      return { mixture: parseMixtureConfig(data, 'config field "data"'), baseDir: cwd };
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  if (data === 'stories') return { mixture: syntheticMixture(STORY_CORPUS_SEED), baseDir: cwd };
  const path = resolve(cwd, data);
  if (!existsSync(path)) throw new ConfigError(`--data / field "data": no such file ${JSON.stringify(data)}`);
  if (path.endsWith('.json')) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(`mixture ${data}: not valid JSON: ${(err as Error).message}`);
    }
    let mixture: MixtureConfig;
    try {
      mixture = parseMixtureConfig(json, data);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    checkSourcePaths(mixture, dirname(path), data);
    return { mixture, baseDir: dirname(path) };
  }
  const corpus = corpusMixture(path, cwd);
  if (corpus !== null) return corpus;
  if (statSync(path).isDirectory()) {
    throw new ConfigError(`--data ${data}: a directory must hold a shard manifest.json (see andes-train prepare)`);
  }
  return { mixture: { sources: [{ name: 'text', type: 'text', path, weight: 1 }] }, baseDir: cwd };
}

/** Pre-tokenized data needs the tokenizer it was written with: name it when missing, compare its vocabulary. */
function checkShardTokenizer(config: TrainConfig, data: ResolvedMixture, tokenizer: Tokenizer | null): void {
  if (!data.mixture.sources.some((s) => s.type === 'shards')) return;
  const expected = data.shardManifest?.tokenizer;
  if (tokenizer === null) {
    throw new ConfigError(
      `--data holds pre-tokenized shards: pass --tokenizer with the tokenizer they were prepared with` +
        (expected ? ` (${expected.file}, vocabulary ${expected.vocabSize})` : ''),
    );
  }
  if (
    expected &&
    (expected.vocabSize !== tokenizer.vocabSize ||
      expected.bosId !== tokenizer.bosId ||
      expected.eosId !== tokenizer.eosId)
  ) {
    throw new ConfigError(
      `--tokenizer ${config.tokenizer}: vocabulary ${tokenizer.vocabSize} (bos ${tokenizer.bosId}, eos ${tokenizer.eosId}) ` +
        `does not match the shards' ${expected.file} (vocabulary ${expected.vocabSize}, bos ${expected.bosId}, eos ${expected.eosId})`,
    );
  }
}

/** Every file source of a mixture file must exist: found now, the error names the mixture, source and path. */
function checkSourcePaths(mixture: MixtureConfig, baseDir: string, file: string): void {
  for (const source of mixture.sources) {
    if (source.path === undefined || isGlobPattern(source.path)) continue;
    if (!existsSync(resolve(baseDir, source.path)))
      throw new ConfigError(
        `mixture ${file}: source "${source.name}" reads ${JSON.stringify(source.path)}, which does not exist ` +
          `(paths are relative to ${baseDir})`,
        'fix the path in the mixture file or create the file',
      );
  }
}

/**
 * Makes sure the validation split of a small corpus holds at least one document and leaves at least one for
 * training: the split is by document hash, so 5% of a two-paragraph file is usually nothing (and the loader would
 * search forever). Adapts `config.validationFraction` in place and returns the note to print, or null when the
 * fraction stands. Data with fewer than two distinct documents cannot be split: a {@link ConfigError} says so.
 */
export async function fitValidationSplit(config: TrainConfig, data: ResolvedMixture): Promise<string | null> {
  const label = typeof config.data === 'string' ? config.data : 'the data';
  let plan: Awaited<ReturnType<typeof planValidationSplit>>;
  try {
    plan = await planValidationSplit(data.mixture, {
      baseDir: data.baseDir,
      valFraction: config.validationFraction,
    });
  } catch (err) {
    throw new ConfigError(
      `--data ${label}: ${(err as Error).message}`,
      'training needs at least two documents: paragraphs separated by a blank line',
    );
  }
  if (plan === null || !plan.adapted) return null;
  const asked = config.validationFraction;
  config.validationFraction = plan.valFraction;
  return (
    `note: ${label} has ${plan.distinct} distinct documents and --validation-fraction ${asked} would leave a split ` +
    `empty, so ${plan.validation} of them ${plan.validation === 1 ? 'is' : 'are'} held out for validation ` +
    `(--validation-fraction ${plan.valFraction.toFixed(4)}); with this little text the validation loss is a rough guide`
  );
}

/** A tokenizer the run can also write to disk (SentencePiece tokenizers can). */
export type RunTokenizer = Tokenizer & {
  save?(path: string, writeFile: FileWriter): Promise<void> | void;
  toModelProto?(): Uint8Array;
};

/**
 * The run's tokenizer: `config.tokenizer` when given, else a BPE tokenizer of `config.vocabSize` trained on the
 * first `config.tokenizerBytes` of training text (byte fallback and split digits, as LLaMA's).
 */
export async function prepareTokenizer(config: TrainConfig, data: ResolvedMixture): Promise<RunTokenizer> {
  if (config.tokenizer !== '') {
    let tokenizer: RunTokenizer;
    try {
      tokenizer = (await loadTokenizer(config.tokenizer)) as RunTokenizer;
    } catch (err) {
      throw new ConfigError(`--tokenizer ${JSON.stringify(config.tokenizer)}: ${(err as Error).message}`);
    }
    checkShardTokenizer(config, data, tokenizer);
    return tokenizer;
  }
  checkShardTokenizer(config, data, null);
  const trained = await trainTokenizerOnMixture(data.mixture, {
    vocabSize: config.vocabSize,
    maxBytes: config.tokenizerBytes,
    baseDir: data.baseDir,
    seed: config.seed,
    valFraction: config.validationFraction,
  });
  return trained as unknown as RunTokenizer;
}

/** Fixed validation batches and the unigram cross-entropy of their target tokens. */
export interface ValidationSet {
  batches: Batch[];
  /** Entropy of the empirical token distribution of the batches' targets, nats per token. */
  unigramCrossEntropy: number;
}

/** Draws `config.evalBatches` batches from the held-out documents (unshuffled, so they never change). */
export async function loadValidationSet(
  config: TrainConfig,
  data: ResolvedMixture,
  tokenizer: Tokenizer,
): Promise<ValidationSet> {
  const loader = await createLoader({
    mixture: data.mixture,
    baseDir: data.baseDir,
    tokenizer,
    seqLen: config.seqLen,
    batchSize: config.batchSize,
    seed: config.seed,
    split: 'validation',
    valFraction: config.validationFraction,
    shuffleWindow: 1,
  });
  const batches: Batch[] = [];
  try {
    while (batches.length < config.evalBatches) {
      const batch = await loader.next();
      if (batch === null) break;
      batches.push(batch);
    }
  } finally {
    await loader.close();
  }
  if (batches.length === 0)
    throw new ConfigError(
      `the validation split is empty: raise --validation-fraction (${config.validationFraction}) or add data`,
    );
  return { batches, unigramCrossEntropy: unigramCrossEntropy(batches.map((b) => b.targets)) };
}
