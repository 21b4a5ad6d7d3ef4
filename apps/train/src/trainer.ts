/**
 * The training step and the validation pass, plus the glue that moves model and optimizer state in and out of
 * training checkpoints. The math (loss, gradients, clipping, AdamW) is in @andes/nn and @andes/optim.
 *
 * @module
 */
import type { LoadedTrainingCheckpoint, TrainingCheckpoint } from '@andes/checkpoint';
import type { Batch } from '@andes/data';
import type { LlamaForCausalLM } from '@andes/nn';
import { type AdamW, gradNorm, type OptimizerStateDict } from '@andes/optim';
import { keep, noGrad, type Tensor, tensor, tidy } from '@andes/tensor';

/** What one optimizer step reports (host numbers, read back once per step). */
export interface StepOutcome {
  /** Mean cross-entropy of the step's micro-batches, nats per token. */
  loss: number;
  /** Global gradient norm of the mean gradient, before clipping. */
  gradNorm: number;
}

function batchTensors(batch: Batch): { ids: Tensor; targets: Tensor } {
  const shape = [batch.batchSize, batch.seqLen];
  return {
    ids: tensor(batch.inputs, shape, { dtype: 'int32' }),
    targets: tensor(batch.targets, shape, { dtype: 'int32' }),
  };
}

/**
 * One optimizer step over `microBatches` (gradient accumulation): backward on each micro-batch, then one AdamW
 * step at `lr` on the mean gradient (gradScale 1/N), clipped by the optimizer. Reads back only the losses and norm.
 */
export async function trainStep(
  model: LlamaForCausalLM,
  optimizer: AdamW,
  microBatches: readonly Batch[],
  lr: number,
): Promise<StepOutcome> {
  if (microBatches.length === 0) throw new Error('trainStep: no micro-batches');
  const losses: Tensor[] = [];
  for (const batch of microBatches) {
    losses.push(
      tidy(() => {
        const { ids, targets } = batchTensors(batch);
        const loss = model.loss(ids, targets);
        loss.backward();
        return keep(loss.detach());
      }),
    );
  }
  const scale = 1 / microBatches.length;
  // With clipping off the optimizer reports no norm; measure it anyway for the logs.
  const unclippedNorm = optimizer.maxGradNorm > 0 ? null : keep(gradNorm(model.parameters(), scale));
  const { gradNorm: norm } = optimizer.step({ lr, gradScale: scale });
  optimizer.zeroGrad();
  let sum = 0;
  for (const loss of losses) {
    sum += await loss.item();
    loss.dispose();
  }
  const normTensor = norm ?? unclippedNorm;
  const normValue = normTensor ? await normTensor.item() : Number.NaN;
  normTensor?.dispose();
  return { loss: sum / microBatches.length, gradNorm: normValue };
}

/** Mean cross-entropy (nats per token) of the model on fixed validation batches, without gradients. */
export async function evaluate(model: LlamaForCausalLM, batches: readonly Batch[]): Promise<number> {
  if (batches.length === 0) throw new Error('evaluate: no validation batches');
  model.eval();
  let sum = 0;
  try {
    for (const batch of batches) {
      const loss = noGrad(() =>
        tidy(() => {
          const { ids, targets } = batchTensors(batch);
          return model.loss(ids, targets);
        }),
      );
      sum += await loss.item();
      loss.dispose();
    }
  } finally {
    model.train();
  }
  return sum / batches.length;
}

/** The optimizer's moments as named host tensors (`<param>/m`, `<param>/v`) plus its JSON state, for a checkpoint. */
export function optimizerToCheckpoint(dict: OptimizerStateDict): NonNullable<TrainingCheckpoint['optimizer']> {
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  const shapes: Record<string, number[]> = {};
  for (const [name, entry] of Object.entries(dict.state)) {
    shapes[name] = entry.shape;
    for (const [key, data] of Object.entries(entry.buffers)) tensors[`${name}/${key}`] = { shape: entry.shape, data };
  }
  return { tensors, state: { kind: dict.kind, step: dict.step, shapes } };
}

/** Rebuilds an optimizer state dict from a loaded checkpoint (inverse of {@link optimizerToCheckpoint}). */
export function optimizerFromCheckpoint(loaded: LoadedTrainingCheckpoint): OptimizerStateDict {
  const json = loaded.optimizer.state as { kind?: unknown; step?: unknown; shapes?: unknown } | undefined;
  if (!json || typeof json.kind !== 'string' || typeof json.step !== 'number' || typeof json.shapes !== 'object')
    throw new Error(`checkpoint ${loaded.dir}: optimizer state is missing or malformed`);
  const state: OptimizerStateDict['state'] = {};
  for (const [name, shape] of Object.entries(json.shapes as Record<string, number[]>)) {
    const buffers: Record<string, Float32Array> = {};
    const prefix = `${name}/`;
    for (const [key, host] of loaded.optimizer.tensors) {
      if (!key.startsWith(prefix)) continue;
      if (!(host.data instanceof Float32Array))
        throw new Error(`checkpoint ${loaded.dir}: optimizer tensor ${key} is ${host.dtype}, expected F32`);
      buffers[key.slice(prefix.length)] = host.data;
    }
    state[name] = { shape, buffers };
  }
  return { kind: json.kind, step: json.step, state };
}

/** The model parameters of a loaded checkpoint in the form `Module.loadStateDict` takes. */
export function modelStateFromCheckpoint(
  loaded: LoadedTrainingCheckpoint,
): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, host] of loaded.model) {
    if (!(host.data instanceof Float32Array))
      throw new Error(`checkpoint ${loaded.dir}: parameter ${name} is ${host.dtype}, expected F32`);
    out.set(name, { shape: [...host.shape], data: host.data });
  }
  return out;
}
