/**
 * `@andes/tokenizer`: SentencePiece BPE (`tokenizer.model`) and Hugging Face (`tokenizer.json`)
 * tokenizers that run in Node and browsers, BPE training, streaming decode and chat templates.
 *
 * @packageDocumentation
 */

export type { ChatMessage, ChatTemplateName, ChatTemplateOptions } from './chat-template.js';
export { applyChatTemplate, chatTemplateText } from './chat-template.js';
export type { Json } from './hf-pipeline.js';
export { GPT2_SPLIT, LLAMA3_SPLIT } from './hf-pipeline.js';
export { HfTokenizer, parseTokenizerJson } from './hf-tokenizer.js';
export { loadTokenizer, tokenizerFromBytes } from './load.js';
export type { ModelProto, NormalizerSpec, PieceTypeValue, SentencePieceEntry, TrainerSpec } from './model-proto.js';
export { ModelType, PieceType, parseModelProto, serializeModelProto } from './model-proto.js';
export { type FileWriter, SentencePieceTokenizer } from './sentencepiece-tokenizer.js';
export { StreamingDecoder, type TokenByteSource } from './streaming-decoder.js';
export type { DecodeOptions, EncodeOptions, Tokenizer } from './tokenizer.js';
export type { TrainBpeOptions } from './train-bpe.js';
export { trainBpe } from './train-bpe.js';
