/**
 * `andes-train finetune`: instruction tuning of a saved model, full or with LoRA. Loads the base model directory,
 * renders the instruction data with its chat template (loss on response tokens only), trains with the same step,
 * metrics, loss chart and checkpoints as `pretrain`, and writes `adapter/` (PEFT layout) or `model/`, plus `merged/`
 * with `--merge`. `--resume` continues from the latest checkpoint to the same losses.
 *
 * @module
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type JsonValue, loadModel, modelFormatOf, saveLoraAdapter, saveModelDir } from '@andes/checkpoint';
import { latestCheckpoint, loadTrainingCheckpoint, saveTrainingCheckpoint } from '@andes/checkpoint/node';
import {
  type Batch,
  InstructionBatcher,
  type InstructionBatcherState,
  type InstructionExample,
  mixSeed,
  padInstructionBatch,
  parseInstructionData,
  type RenderedExample,
  readInstructionData,
  renderInstructionExample,
  splitInstructionExamples,
  storyInstructionFile,
  storyInstructions,
} from '@andes/data';
import { applyLora, baseParameters, LlamaForCausalLM, mergeLora, trainableParameters } from '@andes/nn';
import { AdamW, cosineSchedule } from '@andes/optim';
import { memory, setSeed } from '@andes/tensor';
import { writeFileAtomicSync } from '@andes/tensor/node';
import type { ChatTemplateName, Tokenizer } from '@andes/tokenizer';
import { ConfigError } from './config.js';
import { BUILTIN_STORY_INSTRUCT, type FinetuneConfig } from './finetune-config.js';
import { lossSeriesFromMetrics, renderLossChart } from './loss-chart.js';
import { MetricsLog, readMetrics } from './metrics.js';
import { formatCount } from './plan.js';
import { selectBackend } from './pretrain.js';
import { TrainProgress } from './progress.js';
import {
  evaluate,
  modelStateFromCheckpoint,
  optimizerFromCheckpoint,
  optimizerToCheckpoint,
  trainStep,
} from './trainer.js';

/** Seed of the built-in training set; the evaluation task draws from another seed, so it never sees these. */
export const STORY_INSTRUCT_TRAIN_SEED = 1;

/** A model directory itself, or a run directory's `model/`. */
export function baseModelDirectory(path: string): string {
  if (modelFormatOf(path) !== 'hf') return path; // a .gguf or llama2.c .bin file
  const weights = ['model.safetensors', 'model.safetensors.index.json'].some((f) => existsSync(join(path, f)));
  if (existsSync(join(path, 'config.json')) && weights) return path;
  if (existsSync(join(path, 'model', 'config.json'))) return join(path, 'model');
  throw new ConfigError(
    `flag --model: ${JSON.stringify(path)} is neither a model directory (config.json + model.safetensors) nor a run directory with model/`,
  );
}

/** The instruction examples of a run: a file in `format`, or the built-in story set written in that format. */
export async function loadInstructionExamples(config: FinetuneConfig): Promise<InstructionExample[]> {
  if (config.data === BUILTIN_STORY_INSTRUCT) {
    const items = storyInstructions(STORY_INSTRUCT_TRAIN_SEED, config.examples);
    return parseInstructionData(storyInstructionFile(items, config.format), config.format, BUILTIN_STORY_INSTRUCT);
  }
  if (!existsSync(config.data)) throw new ConfigError(`flag --data: no such file ${JSON.stringify(config.data)}`);
  try {
    return await readInstructionData(config.data, config.format);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

/** Renders examples, dropping those whose response was truncated away entirely. */
function renderAll(tok: Tokenizer, examples: InstructionExample[], template: ChatTemplateName, maxLength: number) {
  const rendered = examples.map((e) => renderInstructionExample(tok, e, template, maxLength));
  return rendered.filter((r) => r.responseMask.subarray(1).includes(1));
}

function fixedBatches(rows: RenderedExample[], batchSize: number, padId: number): Batch[] {
  const out: Batch[] = [];
  for (let i = 0; i < rows.length; i += batchSize)
    out.push(padInstructionBatch(rows.slice(i, i + batchSize), padId, 8));
  return out;
}

/** Runs (or, with `resume`, continues) the fine-tuning run of `config`. */
export async function runFinetune(config: FinetuneConfig, resume = false): Promise<void> {
  const log = (line: string) => console.log(line);
  const out = resolve(config.out);
  const modelDir = baseModelDirectory(config.model);
  const backend = await selectBackend(config.backend);
  let loaded: Awaited<ReturnType<typeof loadModel>>;
  try {
    loaded = await loadModel(modelDir);
  } catch (err) {
    throw new ConfigError(`flag --model: ${(err as Error).message}`);
  }
  const tokenizer = loaded.tokenizer;
  if (tokenizer === undefined)
    throw new ConfigError(`flag --model: ${modelDir} has no tokenizer.model or tokenizer.json`);
  const template = config.template ?? loaded.chatTemplate ?? 'llama-2';
  const examples = await loadInstructionExamples(config);
  const { train, validation } = splitInstructionExamples(examples, config.validationFraction);
  const maxLength = loaded.config.max_position_embeddings;
  const trainRows = renderAll(tokenizer, train, template, maxLength);
  if (trainRows.length === 0)
    throw new ConfigError(`--data ${config.data}: no example has a response within ${maxLength} tokens`);
  let validationRows = renderAll(tokenizer, validation, template, maxLength);
  if (validationRows.length === 0) {
    // Too little data to hold any out: report the loss on a few training examples rather than none.
    validationRows = trainRows.slice(0, config.batchSize);
    log(`note: no held-out example fits; the held-out loss is measured on ${validationRows.length} training examples`);
  }
  const dropped = examples.length - trainRows.length - (validation.length > 0 ? validationRows.length : 0);
  if (dropped > 0) log(`note: ${dropped} examples have no response within ${maxLength} tokens and are skipped`);
  const padId = tokenizer.eosId;
  const validationBatches = fixedBatches(validationRows.slice(0, 8 * config.batchSize), config.batchSize, padId);

  if (!resume) {
    mkdirSync(out, { recursive: true });
    for (const name of ['metrics.jsonl', 'loss.svg', 'checkpoints', 'adapter', 'model', 'merged'])
      rmSync(join(out, name), { recursive: true, force: true });
    writeFileAtomicSync(join(out, 'finetune.json'), `${JSON.stringify(config, null, 2)}\n`);
  }
  setSeed(config.seed);
  const model = LlamaForCausalLM.fromWeights(loaded.config, loaded).train();
  const lora = config.loraR > 0;
  if (lora) {
    applyLora(model, {
      r: config.loraR,
      alpha: config.loraAlpha,
      targets: config.loraTargets,
      dropout: config.loraDropout,
      seed: config.seed,
    });
  }
  const trainable = trainableParameters(model);
  const optimizer = new AdamW(trainable, { lr: config.lr, weightDecay: config.weightDecay, maxGradNorm: 1 });
  const schedule = cosineSchedule({
    peakLr: config.lr,
    warmupSteps: Math.min(config.warmupSteps, config.steps),
    totalSteps: config.steps,
    minLr: config.lr / 10,
  });
  const metrics = new MetricsLog(join(out, 'metrics.jsonl'));
  let step = 0;
  let tokens = 0;
  let batcherState: InstructionBatcherState = { seed: config.seed, epoch: 0, index: 0 };
  if (resume) {
    const dir = await latestCheckpoint(out);
    if (dir === null) throw new ConfigError(`finetune --resume: no checkpoint in ${JSON.stringify(config.out)}`);
    const ckpt = await loadTrainingCheckpoint(dir);
    const state = modelStateFromCheckpoint(ckpt);
    const missing = trainable.map(([name]) => name).filter((name) => !state.has(name));
    if (missing.length > 0) throw new Error(`checkpoint ${dir}: lacks trained parameters [${missing.join(', ')}]`);
    model.loadStateDict(state, { strict: false });
    optimizer.loadStateDict(optimizerFromCheckpoint(ckpt));
    step = ckpt.step;
    batcherState = ckpt.dataLoader as unknown as InstructionBatcherState;
    tokens = (ckpt.extra as { tokens?: number } | undefined)?.tokens ?? 0;
    metrics.truncateAfter(step);
    log(`resuming ${out} from step ${step} (${dir})`);
  }
  const batcher = new InstructionBatcher(trainRows, config.batchSize, padId, batcherState);
  const trainableCount = trainable.reduce((n, [, p]) => n + p.size, 0);
  log(
    `finetune: ${modelDir} (${formatCount(model.numParameters())} parameters) | ${lora ? `LoRA r=${config.loraR} alpha=${config.loraAlpha} on ${config.loraTargets.join(',')}` : 'full'}: ` +
      `${formatCount(trainableCount)} trainable | backend ${backend} | template ${template}`,
  );
  log(
    `data: ${config.data} (${config.format}): ${trainRows.length} training, ${validationRows.length} held-out examples | ` +
      `${config.steps} steps × ${config.batchSize} examples, lr ${config.lr} | memory ${formatCount(memory().bytes)}B`,
  );

  const writeChart = () => {
    const series = lossSeriesFromMetrics(readMetrics(join(out, 'metrics.jsonl')));
    writeFileAtomicSync(
      join(out, 'loss.svg'),
      renderLossChart({ ...series, title: `finetune ${lora ? 'LoRA' : 'full'} — loss` }),
    );
  };
  let lastValLoss: number | undefined;
  const heldOut = async () => {
    lastValLoss = await evaluate(model, validationBatches);
    metrics.write({ type: 'eval', step, valLoss: lastValLoss });
    return lastValLoss;
  };
  if (step === 0) log(`step 0: held-out loss ${(await heldOut()).toFixed(4)} (base model)`);

  const checkpoint = async () => {
    await saveTrainingCheckpoint(
      out,
      {
        step,
        // LoRA: only the adapters change; the base is reloaded from --model on resume.
        model: lora ? new Map(trainable) : model.stateDict(),
        optimizer: optimizerToCheckpoint(await optimizer.stateDict()),
        dataLoader: batcher.state() as unknown as JsonValue,
        rng: { seed: config.seed },
        metrics: lastValLoss === undefined ? {} : { valLoss: lastValLoss },
        extra: { tokens },
      },
      { keepLast: config.keepLast, keepBest: false },
    );
  };

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  const progress = new TrainProgress({ totalSteps: config.steps, startStep: step, lineEvery: 10 });
  const started = performance.now();
  let stopReason = '';
  try {
    while (step < config.steps) {
      const stepStart = performance.now();
      // Dropout masks come from the global generator: reseed per step so a resumed run draws the same masks.
      setSeed(mixSeed(config.seed, step));
      const batch = batcher.next();
      const lr = schedule(step);
      const outcome = await trainStep(model, optimizer, [batch], lr);
      step++;
      tokens += batch.batchSize * batch.seqLen;
      const seconds = (performance.now() - stepStart) / 1000;
      if (!Number.isFinite(outcome.loss))
        throw new Error(`finetune: loss is ${outcome.loss} at step ${step}; lower --lr`);
      const tokensPerSecond = (batch.batchSize * batch.seqLen) / seconds;
      metrics.write({
        type: 'train',
        step,
        loss: outcome.loss,
        lr,
        gradNorm: outcome.gradNorm,
        tokens,
        tokensPerSecond,
        utilisation: 0,
        elapsed: (performance.now() - started) / 1000,
      });
      progress.update({ step, loss: outcome.loss, lr, tokensPerSecond, utilisation: 0 });
      await new Promise((r) => setImmediate(r));
      if (interrupted) stopReason = 'interrupted';
      else if (
        config.timeBudget > 0 &&
        (performance.now() - started) / 1000 >= config.timeBudget &&
        step < config.steps
      )
        stopReason = `time budget of ${config.timeBudget} s reached`;
      const finishing = step === config.steps || (stopReason !== '' && !interrupted);
      if (finishing || (config.evalInterval > 0 && step % config.evalInterval === 0)) {
        progress.log(`step ${step}: held-out loss ${(await heldOut()).toFixed(4)}`);
        writeChart();
      }
      if (finishing || stopReason !== '' || (config.checkpointInterval > 0 && step % config.checkpointInterval === 0))
        await checkpoint();
      if (stopReason !== '') break;
    }
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
  }
  writeChart();
  if (interrupted) {
    log(
      `interrupted: checkpoint saved at step ${step}; continue with \`andes-train finetune --resume --out ${config.out}\``,
    );
    process.exitCode = 130;
    return;
  }
  if (lastValLoss === undefined) await heldOut();
  const savable = { config: loaded.config, tokenizer: tokenizer as never, chatTemplate: template };
  if (lora) {
    const adapterConfig = {
      r: config.loraR,
      alpha: config.loraAlpha,
      targets: config.loraTargets,
      dropout: config.loraDropout,
      baseModel: modelDir,
    };
    await saveLoraAdapter(join(out, 'adapter'), model, adapterConfig);
    if (config.merge) {
      mergeLora(model);
      await saveModelDir(join(out, 'merged'), { ...savable, stateDict: baseParameters(model) });
    }
  } else {
    await saveModelDir(join(out, 'model'), { ...savable, model });
  }
  const elapsed = (performance.now() - started) / 1000;
  log('');
  log(`done: ${step} steps in ${elapsed.toFixed(0)} s; held-out loss ${lastValLoss?.toFixed(4)} nats/response token`);
  const written = lora ? ['adapter', ...(config.merge ? ['merged'] : [])] : ['model'];
  log(
    `wrote ${written.map((w) => join(out, w)).join(', ')}   metrics: ${join(out, 'metrics.jsonl')}   chart: ${join(out, 'loss.svg')}`,
  );
  if (stopReason !== '') log(`${stopReason} at step ${step} of ${config.steps}`);
  model.dispose();
  optimizer.dispose();
}
