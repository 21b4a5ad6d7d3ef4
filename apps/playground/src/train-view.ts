// The Train tab: a fresh nano model trained on the synthetic stories in the page, with a live loss chart,
// tokens/s, a stop button, greedy samples every N steps, and the result as a model directory (.zip).
import type { SentencePieceTokenizer } from '@andes/tokenizer';
import { nanoModel } from './builtin-model.js';
import { byId, nextFrame, numberField } from './dom.js';
import type { GenerateView } from './generate-view.js';
import { drawLossChart } from './loss-chart.js';
import { type OpenModel, zipModel } from './model-source.js';
import { TrainingSession, type TrainingSettings } from './training-session.js';

const samplePrompt = 'Once upon a time';

/** Wires the Train tab; the trained model can be handed to the Generate tab. */
export function setupTrainView(tokenizer: () => Promise<SentencePieceTokenizer>, generateView: GenerateView): void {
  let trained: OpenModel | undefined;
  let stopRequested = false;
  const start = byId<HTMLButtonElement>('train-start');
  const stop = byId<HTMLButtonElement>('train-stop');
  const use = byId<HTMLButtonElement>('train-use');
  const download = byId<HTMLButtonElement>('train-download');
  const stats = byId('train-stats');
  const chart = byId('loss-chart') as unknown as SVGSVGElement;
  const samples = byId('samples');

  stop.addEventListener('click', () => {
    stopRequested = true;
  });
  start.addEventListener('click', async () => {
    let steps: number;
    let sampleEvery: number;
    let settings: TrainingSettings;
    try {
      steps = numberField('train-steps', 1, 100_000);
      sampleEvery = numberField('sample-every', 1);
      settings = {
        steps,
        lr: numberField('train-lr', 0, 1),
        batchSize: numberField('train-batch', 1, 256),
        seqLen: numberField('train-seq', 8, 64),
        seed: 0,
      };
    } catch (e) {
      stats.textContent = (e as Error).message;
      return;
    }
    start.disabled = true;
    stop.disabled = false;
    stopRequested = false;
    chart.dataset.state = 'training';
    samples.replaceChildren();
    const tok = await tokenizer();
    if (trained && generateView.current() !== trained) trained.model.dispose();
    const model = nanoModel(tok, 1);
    const losses: number[] = [];
    drawLossChart(chart, losses);
    const session = await TrainingSession.start(model, tok, settings);
    let tokens = 0;
    let ms = 0;
    try {
      while (session.stepCount < steps && !stopRequested) {
        const report = await session.step();
        losses.push(report.loss);
        tokens += report.tokens;
        ms += report.ms;
        drawLossChart(chart, losses);
        stats.textContent = `step ${report.step}/${steps} · loss ${report.loss.toFixed(3)} · ${((tokens / ms) * 1000).toFixed(0)} tokens/s`;
        if (report.step % sampleEvery === 0) {
          const li = document.createElement('li');
          li.textContent = `step ${report.step}: ${await session.sample(samplePrompt, 24)}`;
          samples.append(li);
        }
        await nextFrame();
      }
    } catch (e) {
      stats.textContent = `training stopped: ${(e as Error).message}`;
    } finally {
      await session.close();
      model.eval();
      trained = { name: `nano trained in the page (${session.stepCount} steps)`, model, tokenizer: tok };
      chart.dataset.state = 'done';
      start.disabled = false;
      stop.disabled = true;
      use.disabled = false;
      download.disabled = false;
    }
  });
  use.addEventListener('click', () => {
    if (trained) generateView.use(trained, '(trained in the Train tab)');
  });
  download.addEventListener('click', async () => {
    if (!trained) return;
    const bytes = await zipModel(trained, 'andes-nano-model');
    const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/zip' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'andes-nano-model.zip';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  });
}
