/**
 * `@andes/eval` — the library behind `andes-eval`: lm-evaluation-harness-compatible scoring of LLaMA-style models
 * (log-likelihood, rolling log-likelihood, generation), JSONL tasks, built-in story tasks, and reports.
 *
 * @packageDocumentation
 */
export { type GreedyBatchOptions, greedyBatch } from './batched-greedy.js';
export {
  BUILTIN_EVAL_SEED,
  BUILTIN_TASK_NAMES,
  BUILTIN_TRAIN_SEED,
  type BuiltinTaskName,
  type BuiltinTaskOptions,
  builtinTask,
  builtinTasks,
  type StoryVocabulary,
  storyVocabulary,
} from './builtin-tasks.js';
export {
  type ModelSelection,
  type RunPerplexityOptions,
  type RunTasksOptions,
  resolveTasks,
  runPerplexity,
  runTasks,
} from './commands.js';
export {
  choiceRequests,
  evaluateTask,
  scoreChoiceItem,
  type TaskOptions,
  type TaskResult,
  type TaskSample,
} from './evaluate-task.js';
export {
  FEWSHOT_DELIMITER,
  fewshotPrefix,
  itemSeed,
  renderShot,
  sampleShots,
  TARGET_DELIMITER,
} from './fewshot.js';
export {
  argmax,
  charLength,
  continuationRequest,
  cutAtStop,
  moveTrailingWhitespace,
  rollingWindows,
  type TokenRequest,
  truncateLeft,
} from './harness.js';
export { type EvalTokenizer, LocalModel, type LocalModelOptions } from './local-model.js';
export {
  exactMatch,
  f1Score,
  type MetricValue,
  meanWithStderr,
  normalizeAnswer,
  type PerplexityResult,
  perplexityFromTotals,
} from './metrics.js';
export type {
  GenerateOptions,
  LogLikelihoodModel,
  LoglikelihoodRequest,
  LoglikelihoodResult,
  ProgressCallback,
  RollingOptions,
  RollingResult,
} from './model.js';
export { countWords, evaluatePerplexity, readDocuments } from './perplexity.js';
export { scoreSharedContexts, sharedContextGroups } from './prefix-scorer.js';
export { createProgram, type ProgramIo } from './program.js';
export { type Progress, startProgress } from './progress.js';
export {
  type EvalReport,
  formatMetric,
  type PerplexityReport,
  renderJson,
  renderMarkdown,
  renderTerminalTable,
  reportTable,
  type Table,
  type TasksReport,
} from './report.js';
export { apiBase, ServerModel, type ServerModelOptions } from './server-model.js';
export {
  assembleTask,
  type ChoiceItem,
  type GenerationItem,
  loadTaskFile,
  type ParsedRows,
  type PartialItem,
  parseTaskJsonl,
  parseTaskRow,
  type Task,
  type TaskFamily,
  type TaskItem,
} from './task-file.js';
export { type BatchOptions, type CausalLm, planBatches, scoreTokenRequests, shareRows } from './token-scorer.js';
