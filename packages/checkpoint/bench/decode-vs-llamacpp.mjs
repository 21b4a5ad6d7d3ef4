// Benchmark: decode tokens/s of a stories-110m-shaped model (random weights, synthetic 32000-piece SentencePiece
// vocabulary) written by Andes as GGUF f32 / f16 / q8_0 / q4_0, in llama.cpp (node-llama-cpp 3.21.1, CPU, same
// threads) and in Andes, its linear weights kept in the file's type (`loadModel(path, { dtype: 'keep' })`, decoded
// inside the matmul kernels). backend `cpu` (default) or `webgpu` runs Andes there; `skip-llama` omits llama.cpp.
// Besides wall-clock tokens/s it prints tokens per CPU-second of this process (llama.cpp runs its thread in-process),
// which a shared, loaded machine disturbs far less than wall time.
// usage: node packages/checkpoint/bench/decode-vs-llamacpp.mjs [threads=2] [tokens=32] [dtypes=f32,f16,q8_0,q4_0]
//          [backend=cpu] [skip-llama] [rounds=1]
// Andes rows give the median of `rounds` alternating runs, wall tokens/s and tokens per CPU-second of the process.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, saveGgufModel } from '@andes/checkpoint';
import { generate, LlamaForCausalLM, llamaPreset, useBlockWeights } from '@andes/nn';
import { setBackend } from '@andes/tensor';
import { ModelType, PieceType, SentencePieceTokenizer } from '@andes/tokenizer';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const threads = Number(process.argv[2] ?? 2);
const tokens = Number(process.argv[3] ?? 32);
const dtypes = (process.argv[4] ?? 'f32,f16,q8_0,q4_0').split(',');
const backend = process.argv[5] ?? 'cpu';
const skipLlama = process.argv[6] === 'skip-llama';
const rounds = Number(process.argv[7] ?? 1);

/** <unk>, <s>, </s>, the 256 byte pieces, then filler pieces up to the vocabulary size. */
function syntheticTokenizer(vocab) {
  const pieces = [
    { piece: '<unk>', score: 0, type: PieceType.unknown },
    { piece: '<s>', score: 0, type: PieceType.control },
    { piece: '</s>', score: 0, type: PieceType.control },
  ];
  for (let b = 0; b < 256; b++) {
    pieces.push({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, score: 0, type: PieceType.byte });
  }
  for (let i = pieces.length; i < vocab; i++) pieces.push({ piece: `▁t${i}`, score: -i, type: PieceType.normal });
  return new SentencePieceTokenizer({
    pieces,
    trainerSpec: {
      modelType: ModelType.bpe,
      vocabSize: vocab,
      byteFallback: true,
      splitDigits: false,
      treatWhitespaceAsSuffix: false,
      unkId: 0,
      bosId: 1,
      eosId: 2,
      padId: -1,
      unkSurface: ' \u2047 ',
    },
    normalizerSpec: {
      name: 'identity',
      precompiledCharsmap: new Uint8Array(0),
      addDummyPrefix: true,
      removeExtraWhitespaces: false,
      escapeWhitespaces: true,
    },
    raw: {},
  });
}

await setBackend('cpu'); // the files are written from a CPU model
// A folder of this run's own: engineers sharing the machine run this bench at the same time.
const out = await mkdtemp(join(tmpdir(), 'andes-bench-decode-'));
const config = llamaPreset('stories-110m');
const tokenizer = syntheticTokenizer(config.vocab_size);
const prompt = [1, 400, 500, 600, 700, 800, 900, 1000];
const stop = () => false; // never stop early: time exactly `tokens` decode steps
const llama = await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
console.log(`stories-110m shape, ${tokens} decode tokens after an 8-token prompt, ${threads} threads`);
console.log(
  `| dtype | file | llama.cpp tok/s | Andes ${backend} tok/s (weights kept) | Andes / llama.cpp | llama.cpp tok/CPU-s | Andes tok/CPU-s | Andes / llama.cpp (CPU) |`,
);
console.log('|---|---|---|---|---|---|---|---|');
{
  const model = new LlamaForCausalLM(config, { seed: 1 });
  for (const dtype of dtypes) await saveGgufModel(join(out, `m.${dtype}.gguf`), { config, model, tokenizer, dtype });
  model.dispose();
}
await setBackend(backend);
const models = [];
for (const dtype of dtypes) {
  const path = join(out, `m.${dtype}.gguf`);
  let cpp = { wall: Number.NaN, cpu: Number.NaN };
  if (!skipLlama) cpp = await llamaCppDecode(path);
  const loaded = await loadModel(path, { dtype: 'keep' });
  const andesModel = new LlamaForCausalLM(loaded.config);
  useBlockWeights(andesModel, loaded.blockWeights);
  andesModel.loadStateDict(loaded.tensors);
  models.push({ dtype, cpp, andesModel, runs: [] });
}
// One untimed run per model first: a CPU weight moves into wasm memory on its first or second use, once per process.
for (const { andesModel } of models) {
  for await (const _ of generate(andesModel, prompt, { maxNewTokens: 2, temperature: 0, stop })) {
  }
}
// Rounds alternate the dtypes, so a change in machine load hits each about equally; the median round counts.
for (let round = 0; round < rounds; round++) {
  for (const entry of models) {
    let m = 0;
    let t1 = 0;
    let c1 = null;
    for await (const _ of generate(entry.andesModel, prompt, { maxNewTokens: tokens + 1, temperature: 0, stop })) {
      if (m === 0) {
        t1 = performance.now();
        c1 = process.cpuUsage();
      }
      m++;
    }
    // Tokens per CPU-second of this process (lavapipe's threads included): steadier than wall time under load.
    const cpu = process.cpuUsage(c1);
    entry.runs.push({
      wall: (tokens / (performance.now() - t1)) * 1000,
      perCpu: tokens / ((cpu.user + cpu.system) / 1e6),
    });
  }
}
const median = (a) => a.sort((p, q) => p - q)[Math.floor(a.length / 2)];
for (const { dtype, cpp, andesModel, runs } of models) {
  andesModel.dispose();
  const andes = median(runs.map((r) => r.wall));
  const perCpu = median(runs.map((r) => r.perCpu));
  console.log(
    `| ${dtype} | m.${dtype}.gguf | ${cpp.wall.toFixed(1)} | ${andes.toFixed(1)} | ${(andes / cpp.wall).toFixed(2)}× | ` +
      `${cpp.cpu.toFixed(1)} | ${perCpu.toFixed(1)} | ${(perCpu / cpp.cpu).toFixed(2)}× |`,
  );
}
await llama.dispose();
await rm(out, { recursive: true, force: true });

/** CPU seconds this process has used since `since` (a `process.cpuUsage()` reading). */
function cpuSeconds(since) {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
}

/** llama.cpp's decode tokens/s on `path` (CPU, `threads` threads): per wall second and per CPU second. */
async function llamaCppDecode(path) {
  const lm = await llama.loadModel({ modelPath: path });
  const context = await lm.createContext({ contextSize: 256, threads, batchSize: 64 });
  const sequence = context.getSequence();
  let n = 0;
  let t0 = 0;
  let c0 = process.cpuUsage();
  for await (const _ of sequence.evaluate(prompt, { temperature: 0 })) {
    if (n === 0) {
      t0 = performance.now(); // the first token ends the prefill
      c0 = process.cpuUsage();
    }
    if (++n > tokens) break;
  }
  const cpp = { wall: (tokens / (performance.now() - t0)) * 1000, cpu: tokens / cpuSeconds(c0) };
  await context.dispose();
  await lm.dispose();
  return cpp;
}
