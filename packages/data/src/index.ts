/**
 * @andes/data — sources, mixtures, packing, shuffling and resumable loaders for language-model training.
 *
 * @packageDocumentation
 */
export { DocumentStream, type DocumentStreamOptions, type DocumentStreamState, type Split } from './document-stream.js';
export { expandGlob, globToRegExp, isGlobPattern, listFilesRecursive } from './glob.js';
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
export { type FileLine, LineReader } from './line-reader.js';
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
export { fnv1a32, isValidationDocument, mixSeed, SeededRandom } from './rng.js';
export {
  type DocumentSource,
  FileSource,
  type FileSourceOptions,
  openSource,
  resolveSourceFiles,
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
