/**
 * @andes/serve — an OpenAI-compatible HTTP server for Andes models with continuous batching.
 *
 * @module
 */
export { CHAT_PAGE_HTML } from './chat-page.js';
export type { ChoiceDelta, ChoiceSink } from './choice.js';
export { startChoice } from './choice.js';
export { buildProgram, type CliOptions, defaultEngineWorkers, main } from './cli.js';
export type { Engine, KvBlocks, SampledRow, StepChunk, StepResult } from './engine.js';
export { ApiError, badRequest, type ErrorBody, errorBody } from './errors.js';
export {
  blocksWithinBudget,
  type KvDtype,
  LlamaEngine,
  type LlamaEngineOptions,
  type WorkerStepOptions,
} from './llama-engine.js';
export { Counter, Gauge, Histogram, LATENCY_BUCKETS, type Labels, type Metric, ServeMetrics } from './metrics.js';
export {
  CHAT_TEMPLATE_NAMES,
  type ChatTemplateName,
  type CreateServedModelOptions,
  chatTemplateOf,
  createServedModel,
  createWorkerEngines,
  DEFAULT_HELPER_NICE,
  type LoadServedModelOptions,
  loadServedModel,
  renderChatIds,
} from './model-loader.js';
export {
  isWarmUpMode,
  type ReadinessState,
  requestIdOf,
  WARM_UP_MODES,
  type WarmUpMode,
  type WarmUpOptions,
  warmUp,
} from './operations.js';
export { StepCostModel, sharePrefill } from './prefill-budget.js';
export {
  ADAPTIVE_MIN_SPEEDUP,
  ADAPTIVE_WAIT_STEPS,
  adaptivePrefillRows,
  ChunkCostModel,
  type PrefillFirstPolicy,
} from './prefill-first.js';
export { type RateDecision, type RateLimitOptions, rateLimitKey, TokenBucketLimiter } from './rate-limit.js';
export { randomSeed } from './request-params.js';
export {
  DEFAULT_REFILL_WAIT_MS,
  type FinishReason,
  type PromptLogprob,
  QueueFullError,
  Scheduler,
  type SchedulerOptions,
  type SequenceHandle,
  type SequenceRequest,
  type TokenEvent,
} from './scheduler.js';
export type { ChatMessage, ServedModel, ServeTokenizer } from './served-model.js';
export { type AndesServer, createServer, type ServerOptions } from './server.js';
export { ShardedEngine } from './sharded-engine.js';
export { StopMatcher, type StopResult } from './stop-strings.js';
export {
  type EngineSource,
  type EngineWorkerInit,
  type EngineWorkerReady,
  type FromEngineWorker,
  type PoolOp,
  type ToEngineWorker,
  WorkerEngine,
} from './worker-engine.js';
