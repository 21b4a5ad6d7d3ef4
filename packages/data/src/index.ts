/**
 * @andes/data — sources, mixtures, packing, shuffling and resumable loaders for language-model training.
 *
 * The main entry is browser-safe: file sources load Node's file system when first opened; the file readers
 * themselves (globs, line reader) are in `@andes/data/node`.
 *
 * @packageDocumentation
 */

// The seeded generator and seed hashes live in @andes/tensor (their one home); re-exported for existing callers.
export { fnv1a32, mixSeed, SeededRandom } from '@andes/tensor';
export { DocumentStream, type DocumentStreamOptions, type DocumentStreamState, type Split } from './document-stream.js';
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
export {
  type DocumentSource,
  FileSource,
  type FileSourceOptions,
  openSource,
  resolveSourceFiles,
  type SourceState,
  SyntheticSource,
} from './sources.js';
export type { StoryPerson } from './story-lexicon.js';
export { syntheticStories, syntheticStory } from './synthetic-stories.js';
export {
  type CollectTextOptions,
  collectTrainingText,
  type TokenizerTrainingOptions,
  trainTokenizerOnMixture,
} from './tokenizer-training.js';
export { unigramCrossEntropy } from './unigram.js';
export { isValidationDocument } from './validation-split.js';
