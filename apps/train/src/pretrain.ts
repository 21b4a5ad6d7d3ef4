/**
 * `andes-train pretrain` / `resume`: sets up a run (backend, data, tokenizer, model, optimizer), runs the training
 * loop with progress, metrics, evaluation, samples and checkpoints, and writes the final model.
 *
 * @module
 */
import { copyFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type JsonValue, saveModelDir } from '@andes/checkpoint';
import { listCheckpoints, loadTrainingCheckpoint, saveTrainingCheckpoint } from '@andes/checkpoint/node';
import { type Batch, createLoader, type Loader, type LoaderState } from '@andes/data';
import { generateIds, LlamaForCausalLM } from '@andes/nn';
import { AdamW, cosineSchedule, type LrSchedule } from '@andes/optim';
import { selectBackend as selectComputeBackend, setSeed } from '@andes/tensor';
import { writeFileAtomic, writeFileAtomicSync } from '@andes/tensor/node';
import { loadTokenizer } from '@andes/tokenizer';
import { ConfigError, type TrainConfig, tokensPerStep, totalSteps } from './config.js';
import { lossSeriesFromMetrics, renderLossChart } from './loss-chart.js';
import { MetricsLog, readMetrics } from './metrics.js';
import { buildModelConfig } from './model-config.js';
import { formatCount } from './plan.js';
import { TrainProgress } from './progress.js';
import {
  fitValidationSplit,
  loadValidationSet,
  prepareTokenizer,
  type RunTokenizer,
  resolveMixture,
} from './run-data.js';
import { checkRunDirectoryFree, type RunPaths, readRunConfig, runPaths, startFreshRun } from './run-directory.js';
import { measureMatmulFlops, utilisation } from './throughput.js';
import {
  evaluate,
  modelStateFromCheckpoint,
  optimizerFromCheckpoint,
  optimizerToCheckpoint,
  trainStep,
} from './trainer.js';

/** Text safe to print on a terminal: control characters (an untrained model emits byte tokens) become U+FFFD. */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\ufffd');
}

/**
 * Selects the configured backend with `@andes/tensor`'s `selectBackend` (`auto`: ANDES_BACKEND, else WebGPU, else
 * CPU) and returns its name; an unavailable named backend becomes a ConfigError (a user error, printed without a stack).
 */
export async function selectBackend(choice: TrainConfig['backend']): Promise<string> {
  try {
    return (await selectComputeBackend(choice)).name;
  } catch (err) {
    if (choice === 'auto') throw err;
    throw new ConfigError(`--backend ${choice}: ${(err as Error).message}`);
  }
}

/** Options of {@link runPretrain}. */
export interface PretrainOptions {
  /** Replace an earlier run in `config.outDir`; without it such a directory is refused. */
  overwrite?: boolean;
}

/**
 * Starts a fresh run in `config.outDir`. A directory holding an earlier run is refused unless `overwrite`; a small
 * corpus gets a validation fraction that leaves both splits documents (with a printed note).
 */
export async function runPretrain(config: TrainConfig, options: PretrainOptions = {}): Promise<void> {
  // Check what can be checked before anything is deleted or trained: data paths, model fields, the run directory.
  const data = resolveMixture(config.data);
  buildModelConfig(config, { vocabSize: Math.max(config.vocabSize, 3), bosId: 1, eosId: 2 });
  const root = resolve(config.outDir);
  checkRunDirectoryFree(root, config.outDir, options.overwrite === true);
  const note = await fitValidationSplit(config, data);
  if (note !== null) console.log(note);
  const paths = startFreshRun(root, config);
  await train(paths, config, null);
}

/** Continues the run in `dir` from its latest checkpoint; `timeBudget` (seconds) overrides the saved one. */
export async function runResume(dir: string, timeBudget?: number): Promise<void> {
  const config = readRunConfig(dir);
  if (timeBudget !== undefined) config.timeBudget = timeBudget;
  const paths = runPaths(resolve(dir));
  const last = (await listCheckpoints(paths.root)).at(-1);
  if (last === undefined)
    throw new ConfigError(
      `resume: no checkpoint in ${JSON.stringify(dir)}`,
      'a run saves one every --checkpoint-interval steps and on Ctrl-C; start again with `andes-train pretrain`',
    );
  const steps = totalSteps(config);
  if (last.step >= steps && existsSync(paths.model)) {
    // Finished runs stay as they are: re-running the end (evaluation, model, samples) would only rewrite them.
    console.log(
      `${dir} is finished (step ${last.step} of ${steps}); nothing to do. Its model is in ${paths.model}; ` +
        'train longer with a new `andes-train pretrain --steps …`.',
    );
    return;
  }
  await train(paths, config, last.dir);
}

/** Saves the tokenizer into the run (trained ones serialise themselves; a given file is copied). */
async function saveRunTokenizer(tokenizer: RunTokenizer, config: TrainConfig, paths: RunPaths): Promise<void> {
  if (typeof tokenizer.save === 'function') await tokenizer.save(paths.tokenizer, writeFileAtomic);
  else if (config.tokenizer !== '') copyFileSync(config.tokenizer, paths.tokenizer);
  else throw new Error('train: the tokenizer can neither save itself nor be copied');
}

/** The learning-rate schedule of a run: linear warmup, cosine decay to `minLr`. */
export function runSchedule(config: TrainConfig): LrSchedule {
  const steps = totalSteps(config);
  const warmupSteps = Math.min(config.warmupSteps, steps);
  const end = config.decaySteps > 0 ? warmupSteps + config.decaySteps : steps;
  return cosineSchedule({
    peakLr: config.lr,
    warmupSteps,
    totalSteps: Math.max(end, warmupSteps),
    minLr: config.minLr,
  });
}

async function nextMicroBatches(loader: Loader, count: number): Promise<Batch[]> {
  const batches: Batch[] = [];
  for (let i = 0; i < count; i++) {
    const batch = await loader.next();
    if (batch === null) throw new Error('train: the training data ran out (raise epochs or lower --steps)');
    batches.push(batch);
  }
  return batches;
}

/** The shared training loop of `pretrain` and `resume`. */
async function train(paths: RunPaths, config: TrainConfig, resumeFrom: string | null): Promise<void> {
  const backend = await selectBackend(config.backend);
  const data = resolveMixture(config.data);
  const log = (line: string) => console.log(line);

  let tokenizer: RunTokenizer;
  if (resumeFrom !== null) tokenizer = (await loadTokenizer(paths.tokenizer)) as RunTokenizer;
  else {
    const started = performance.now();
    tokenizer = await prepareTokenizer(config, data);
    await saveRunTokenizer(tokenizer, config, paths);
    if (config.tokenizer === '')
      log(
        `tokenizer: trained BPE, ${tokenizer.vocabSize} tokens in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
  }
  const modelConfig = buildModelConfig(config, tokenizer);
  setSeed(config.seed);
  const model = new LlamaForCausalLM(modelConfig, { seed: config.seed });
  const optimizer = new AdamW(model.namedParameters(), {
    lr: config.lr,
    betas: [config.beta1, config.beta2],
    weightDecay: config.weightDecay,
    maxGradNorm: config.gradClip,
  });
  const schedule = runSchedule(config);
  const steps = totalSteps(config);
  const validation = await loadValidationSet(config, data, tokenizer);
  const metrics = new MetricsLog(paths.metrics);

  let step = 0;
  let tokens = 0;
  let bestValLoss = Number.POSITIVE_INFINITY;
  let loaderState: LoaderState | undefined;
  if (resumeFrom !== null) {
    const loaded = await loadTrainingCheckpoint(resumeFrom);
    model.loadStateDict(modelStateFromCheckpoint(loaded));
    optimizer.loadStateDict(optimizerFromCheckpoint(loaded));
    step = loaded.step;
    loaderState = loaded.dataLoader as unknown as LoaderState;
    const extra = loaded.extra as { tokens?: number; bestValLoss?: number | null } | undefined;
    tokens = extra?.tokens ?? step * tokensPerStep(config);
    bestValLoss = extra?.bestValLoss ?? Number.POSITIVE_INFINITY;
    metrics.truncateAfter(step);
    log(`resuming ${paths.root} from step ${step} (${resumeFrom})`);
  }
  const loader = await createLoader({
    mixture: data.mixture,
    baseDir: data.baseDir,
    tokenizer,
    seqLen: config.seqLen,
    batchSize: config.batchSize,
    seed: config.seed,
    split: 'train',
    valFraction: config.validationFraction,
    resumeFrom: loaderState,
  });

  const params = model.numParameters();
  const matmulFlops = await measureMatmulFlops();
  const unigram = validation.unigramCrossEntropy;
  log(
    `model: ${config.preset}, ${formatCount(params)} parameters (d=${modelConfig.hidden_size}, ` +
      `${modelConfig.num_hidden_layers} layers, vocab ${modelConfig.vocab_size}) | backend ${backend}, ` +
      `matmul ${(matmulFlops / 1e9).toFixed(1)} GFLOP/s`,
  );
  log(
    `training: ${steps} steps × ${tokensPerStep(config)} tokens (batch ${config.batchSize} × seq ${config.seqLen}` +
      ` × accum ${config.gradAccum}), lr ${config.lr} | validation: ${validation.batches.length} batches, ` +
      `unigram cross-entropy ${unigram.toFixed(4)} nats/token`,
  );

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130); // a second Ctrl-C while saving: give up at once
    interrupted = true;
  };
  process.on('SIGINT', onSigint);

  const progress = new TrainProgress({ totalSteps: steps, startStep: step, lineEvery: config.logInterval });
  const started = performance.now();
  let lastValLoss: number | undefined;

  const checkpoint = async () => {
    const optimizerState = optimizerToCheckpoint(await optimizer.stateDict());
    const ckptMetrics = lastValLoss === undefined ? {} : { valLoss: lastValLoss };
    await saveTrainingCheckpoint(
      paths.root,
      {
        step,
        model: model.stateDict(),
        optimizer: optimizerState,
        dataLoader: loader.state() as unknown as JsonValue,
        rng: { seed: config.seed },
        metrics: ckptMetrics,
        extra: { tokens, bestValLoss: Number.isFinite(bestValLoss) ? bestValLoss : null },
      },
      { keepLast: config.keepLast, keepBest: true },
    );
  };
  const writeChart = () => {
    const series = lossSeriesFromMetrics(readMetrics(paths.metrics));
    const reference = { label: `unigram ${unigram.toFixed(3)}`, value: unigram };
    writeFileAtomicSync(paths.chart, renderLossChart({ ...series, reference, title: `${config.preset} — loss` }));
  };
  const sample = async (prompt: string): Promise<string> => {
    const ids = tokenizer.encode(prompt, { bos: true });
    const out = await generateIds(model, ids, {
      maxNewTokens: config.sampleTokens,
      temperature: 0.8,
      topP: 0.95,
      seed: config.seed + step,
    });
    return tokenizer.decode([...ids, ...out]);
  };

  let stopReason = '';
  try {
    while (step < steps) {
      const stepStart = performance.now();
      const batches = await nextMicroBatches(loader, config.gradAccum);
      const lr = schedule(step);
      const outcome = await trainStep(model, optimizer, batches, lr);
      step++;
      tokens += tokensPerStep(config);
      const seconds = (performance.now() - stepStart) / 1000;
      const tokensPerSecond = tokensPerStep(config) / seconds;
      const util = utilisation(params, tokensPerSecond, matmulFlops);
      if (!Number.isFinite(outcome.loss)) throw new Error(`train: loss is ${outcome.loss} at step ${step}; lower --lr`);
      metrics.write({
        type: 'train',
        step,
        loss: outcome.loss,
        lr,
        gradNorm: outcome.gradNorm,
        tokens,
        tokensPerSecond,
        utilisation: util,
        elapsed: (performance.now() - started) / 1000,
      });
      progress.update({ step, loss: outcome.loss, lr, tokensPerSecond, utilisation: util });

      // Let the event loop turn: signal handlers and the progress bar's timer only run between macrotasks, and the
      // CPU backend resolves everything in microtasks.
      await new Promise((resolve) => setImmediate(resolve));
      const timeUp = config.timeBudget > 0 && (performance.now() - started) / 1000 >= config.timeBudget;
      if (interrupted) stopReason = 'interrupted';
      else if (timeUp && step < steps) stopReason = `time budget of ${config.timeBudget} s reached`;
      // The last step, or the time budget: evaluate and finish; Ctrl-C only checkpoints.
      const finishing = step === steps || (stopReason !== '' && !interrupted);
      if (finishing || (config.evalInterval > 0 && step % config.evalInterval === 0)) {
        lastValLoss = await evaluate(model, validation.batches);
        bestValLoss = Math.min(bestValLoss, lastValLoss);
        metrics.write({ type: 'eval', step, valLoss: lastValLoss });
        progress.log(
          `step ${step}: validation loss ${lastValLoss.toFixed(4)} (unigram ${unigram.toFixed(4)}, ` +
            `ratio ${(lastValLoss / unigram).toFixed(3)})`,
        );
        writeChart();
      }
      if (!finishing && config.sampleInterval > 0 && step % config.sampleInterval === 0) {
        const text = await sample(config.prompts[0] ?? '');
        metrics.write({ type: 'sample', step, prompt: config.prompts[0] ?? '', text });
        progress.log(`step ${step} sample: ${printable(text)}`);
      }
      if (finishing || stopReason !== '' || (config.checkpointInterval > 0 && step % config.checkpointInterval === 0))
        await checkpoint();
      if (stopReason !== '') break;
    }
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
    await loader.close();
  }

  if (interrupted) {
    log(`interrupted: checkpoint saved at step ${step}; continue with \`andes-train resume ${paths.root}\``);
    if (existsSync(paths.metrics)) writeChart();
    process.exitCode = 130;
    return;
  }
  // A resumed run that had already finished has no evaluation of its own yet.
  if (lastValLoss === undefined) lastValLoss = await evaluate(model, validation.batches);
  await saveModelDir(paths.model, { config: modelConfig, model, tokenizer });
  writeChart();
  const elapsed = (performance.now() - started) / 1000;
  log('');
  log(`done: ${step} steps, ${formatCount(tokens)} tokens in ${elapsed.toFixed(0)} s`);
  log(`validation loss:           ${lastValLoss?.toFixed(4)} nats/token`);
  log(`unigram cross-entropy:     ${unigram.toFixed(4)} nats/token (same tokenizer, validation tokens)`);
  log(`ratio:                     ${((lastValLoss ?? Number.NaN) / unigram).toFixed(3)}`);
  log(`model: ${paths.model}   metrics: ${paths.metrics}   chart: ${paths.chart}`);
  if (stopReason !== '')
    log(`${stopReason} at step ${step} of ${steps}; \`andes-train resume ${paths.root}\` continues the run`);
  log('');
  for (const prompt of config.prompts) {
    const text = await sample(prompt);
    metrics.write({ type: 'sample', step, prompt, text });
    log(`sample: ${printable(text)}`);
    log('');
  }
  model.dispose();
  optimizer.dispose();
}
