/**
 * @andes/data — sources, mixtures, packing, shuffling and resumable loaders for language-model training.
 *
 * The main entry is browser-safe: file sources load Node's file system when first opened; the file readers
 * themselves (globs, line reader, compressed and Parquet records), shards and `prepare` are in `@andes/data/node`.
 *
 * @packageDocumentation
 */

// The seeded generator and seed hashes live in @andes/tensor (their one home); re-exported for existing callers.
export { fnv1a32, mixSeed, SeededRandom } from '@andes/tensor';
export { type CorpusFormat, corpusFormatOf, isRecordIndexed } from './corpus-format.js';
export {
  llamaPaperEpochs,
  type PlanSource,
  planSourceEpochs,
  planSourcesFromManifest,
  type SourceEpochPlan,
} from './data-plan.js';
export type { LineCodec } from './decompressed-lines.js';
export { DocumentStream, type DocumentStreamOptions, type DocumentStreamState, type Split } from './document-stream.js';
export { fieldOf } from './field-of.js';
export * from './filters/index.js';
export {
  ALPACA_INPUT_PREAMBLE,
  INSTRUCTION_FORMATS,
  type InstructionExample,
  type InstructionFormat,
  parseInstructionData,
  readInstructionData,
} from './instruction-formats.js';
export {
  IGNORE_INDEX,
  InstructionBatcher,
  type InstructionBatcherState,
  padInstructionBatch,
  type RenderedExample,
  renderInstructionExample,
  splitInstructionExamples,
} from './instruction-rendering.js';
export { type Batch, createLoader, type Loader, type LoaderOptions, type LoaderState } from './loader.js';
export { parseLoaderState } from './loader-state.js';
export {
  type DocumentSplit,
  llamaMixture,
  llamaMixturePreset,
  type MixtureConfig,
  parseMixtureConfig,
  type SourceConfig,
  type SourceType,
  syntheticMixture,
} from './mixture-config.js';
export { type DataTokenizer, type PackerPosition, type PackingOptions, SequencePacker } from './packing.js';
export type { CorpusRecord, RecordReader, RecordReaderOptions } from './record-reader.js';
export {
  decodeShardHeader,
  dtypeBytes,
  encodeShardHeader,
  SHARD_HEADER_BYTES,
  SHARD_MAGIC,
  SHARD_VERSION,
  type ShardDtype,
  type ShardHeader,
  shardDtypeFor,
} from './shard-format.js';
export {
  type DocumentSource,
  FileSource,
  type FileSourceOptions,
  openSource,
  resolveSourceFiles,
  type SourceDocument,
  type SourceState,
  SyntheticSource,
} from './sources.js';
export {
  STORY_QA_KINDS,
  type StoryInstruction,
  type StoryTaskKind,
  storyInstruction,
  storyInstructionFile,
  storyInstructionMessages,
  storyInstructions,
} from './story-instruct.js';
export type { StoryPerson } from './story-lexicon.js';
export { syntheticStories, syntheticStory } from './synthetic-stories.js';
export {
  type CollectTextOptions,
  collectTrainingText,
  type TokenizerTrainingOptions,
  trainTokenizerOnMixture,
} from './tokenizer-training.js';
export { unigramCrossEntropy } from './unigram.js';
export {
  fnv1a32Tokens,
  isValidationDocument,
  type PlanValidationOptions,
  planValidationSplit,
  type ValidationSplitPlan,
  validationKey,
} from './validation-split.js';
