/**
 * `@andes/train`: the `andes-train` command line (pretrain, resume, plan, sample, bench, sweep, fit, tradeoff) and the
 * pieces it is made of, usable from code: config parsing, Chinchilla planning, metrics JSONL, the SVG charts, the
 * training step, scaling sweeps and their reports.
 *
 * @packageDocumentation
 */
export {
  BENCHMARK_CASES,
  type BenchmarkCase,
  type BenchmarkResult,
  benchmarkCase,
  benchmarkTable,
  runBenchmark,
} from './benchmark.js';
export {
  type BackendChoice,
  CONFIG_FIELDS,
  ConfigError,
  DEFAULT_CONFIG,
  DEFAULT_RUN_TIME_BUDGET,
  flagName,
  parseConfigObject,
  parseField,
  parseModelOverrides,
  resolveConfig,
  type TrainConfig,
  tokensPerStep,
  totalSteps,
} from './config.js';
export { type ChartSeries, escapeXml, type LineChart, logTicks, type Points, renderLineChart } from './line-chart.js';
export {
  type LossChartInput,
  type LossSeries,
  lossSeriesFromMetrics,
  niceTicks,
  renderLossChart,
} from './loss-chart.js';
export {
  type EvalMetric,
  type MetricRecord,
  MetricsLog,
  readMetrics,
  type SampleMetric,
  type TrainMetric,
} from './metrics.js';
export { buildModelConfig, type VocabularyInfo } from './model-config.js';
export { type NumberFlagRule, parseNumberFlag } from './number-flag.js';
export {
  CHINCHILLA,
  chinchillaLoss,
  formatCount,
  formatDuration,
  formatPlan,
  type PlanInput,
  planTraining,
  type TrainingPlan,
  trainingFlops,
} from './plan.js';
export { type PlanCommandOptions, presetParameters, runPlanCommand } from './plan-command.js';
export { type PretrainOptions, runPretrain, runResume, runSchedule, selectBackend } from './pretrain.js';
export { buildProgram, configFromOptions, main, readConfigFile } from './program.js';
export { type ProgressUpdate, TrainProgress, type TrainProgressOptions } from './progress.js';
export {
  loadValidationSet,
  prepareTokenizer,
  type ResolvedMixture,
  type RunTokenizer,
  resolveMixture,
  type ValidationSet,
} from './run-data.js';
export {
  checkRunDirectoryFree,
  earlierRunArtifacts,
  type RunPaths,
  readRunConfig,
  runPaths,
  startFreshRun,
} from './run-directory.js';
export { type RunResult, readPointsCsv, readRunArguments, readRunResult } from './run-results.js';
export { modelDirectoryOf, runSample, type SampleOptions } from './sample.js';
export { type AnalysisOptions, analyseScaling, type ScalingAnalysis } from './scaling-analysis.js';
export { type ReportOptions, writeScalingReport } from './scaling-report.js';
export { DEFAULT_SWEEP, planSweep, readSweepConfig, type SweepConfig, type SweepPoint } from './sweep-config.js';
export { type PointState, pointState } from './sweep-state.js';
export { type MatmulShape, measureMatmulFlops, utilisation } from './throughput.js';
export {
  evaluate,
  modelStateFromCheckpoint,
  optimizerFromCheckpoint,
  optimizerToCheckpoint,
  type StepOutcome,
  trainStep,
} from './trainer.js';
