/**
 * Training in the page: a model, AdamW and a loader over the built-in synthetic stories, one optimizer step at a
 * time so the page can draw the loss, stay responsive and stop between steps. No DOM here (the Train view drives it).
 *
 * @module
 */
import { createLoader, type Loader, syntheticMixture } from '@andes/data';
import { generateIds, type LlamaForCausalLM } from '@andes/nn';
import { AdamW, cosineSchedule, type LrSchedule } from '@andes/optim';
import { keep, type Tensor, tensor, tidy } from '@andes/tensor';
import type { SentencePieceTokenizer } from '@andes/tokenizer';

/** Settings of a {@link TrainingSession}. */
export interface TrainingSettings {
  /** Rows per batch. */
  batchSize: number;
  /** Tokens per row (at most the model's context). */
  seqLen: number;
  /** Peak learning rate. */
  lr: number;
  /** Steps the cosine schedule spans (warmup is a tenth of it). */
  steps: number;
  /** Seed of the data order. */
  seed: number;
}

/** What one step reports. */
export interface StepReport {
  /** 1-based step number. */
  step: number;
  /** Mean cross-entropy of the batch, nats per token. */
  loss: number;
  /** Tokens in the batch (batchSize × seqLen). */
  tokens: number;
  /** Wall time of the step, ms, including the loss readback. */
  ms: number;
}

/** One model trained step by step on the synthetic stories. */
export class TrainingSession {
  #step = 0;

  private constructor(
    readonly model: LlamaForCausalLM,
    readonly tokenizer: SentencePieceTokenizer,
    readonly settings: TrainingSettings,
    private readonly loader: Loader,
    private readonly optimizer: AdamW,
    private readonly schedule: LrSchedule,
  ) {}

  /** Opens the loader and the optimizer for `model`. */
  static async start(
    model: LlamaForCausalLM,
    tokenizer: SentencePieceTokenizer,
    settings: TrainingSettings,
  ): Promise<TrainingSession> {
    if (settings.seqLen > model.config.max_position_embeddings) {
      throw new Error(`seqLen ${settings.seqLen} exceeds the model's context ${model.config.max_position_embeddings}`);
    }
    const loader = await createLoader({
      mixture: syntheticMixture(settings.seed),
      tokenizer,
      seqLen: settings.seqLen,
      batchSize: settings.batchSize,
      seed: settings.seed,
    });
    const optimizer = new AdamW(model.namedParameters(), { lr: settings.lr, weightDecay: 0.1, maxGradNorm: 1 });
    const warmup = Math.max(1, Math.round(settings.steps / 10));
    const schedule = cosineSchedule({
      peakLr: settings.lr,
      minLr: settings.lr / 10,
      warmupSteps: warmup,
      totalSteps: settings.steps,
    });
    return new TrainingSession(model, tokenizer, settings, loader, optimizer, schedule);
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.#step;
  }

  /** One optimizer step on the next batch; resolves once its loss is read back. */
  async step(): Promise<StepReport> {
    const started = performance.now();
    const batch = await this.loader.next();
    if (!batch) throw new Error('the synthetic stories ran out (they should not: the source is endless)');
    const { batchSize, seqLen } = batch;
    this.#step++;
    const loss: Tensor = tidy(() => {
      const ids = tensor(batch.inputs, [batchSize, seqLen], { dtype: 'int32' });
      const targets = tensor(batch.targets, [batchSize, seqLen], { dtype: 'int32' });
      const l = this.model.loss(ids, targets);
      l.backward();
      return keep(l.detach());
    });
    this.optimizer.step({ lr: this.schedule(this.#step) });
    this.optimizer.zeroGrad();
    const value = await loss.item();
    loss.dispose();
    return { step: this.#step, loss: value, tokens: batchSize * seqLen, ms: performance.now() - started };
  }

  /** A greedy continuation of `prompt` from the model as trained so far (the "samples every N steps"). */
  async sample(prompt: string, maxNewTokens: number): Promise<string> {
    this.model.eval();
    try {
      const ids = await generateIds(this.model, this.tokenizer.encode(prompt, { bos: true }), {
        maxNewTokens,
        temperature: 0,
      });
      return prompt + this.tokenizer.decode(ids);
    } finally {
      this.model.train();
    }
  }

  /** Frees the loader and the optimizer state (the model stays). */
  async close(): Promise<void> {
    await this.loader.close();
    this.optimizer.dispose();
  }
}
