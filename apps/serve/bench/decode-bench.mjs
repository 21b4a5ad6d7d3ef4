// Greedy single-stream decode on the engine (what the server runs per token: one paged engine step that samples on
// the device, `StepChunk.sample`, and reads back one id), random weights, llama2.c's TinyStories shapes. Beside it, in the same run, llama.cpp
// (node-llama-cpp 3.21.1, CPU, DECODE_LLAMA_THREADS threads, default 1 like Andes) decodes greedily from the same
// weights written as an f32 GGUF by @andes/checkpoint (DECODE_LLAMA=0 skips it); and when RUNC is set to a built
// llama2.c `run` binary (and RUNC_TOKENIZER to its tokenizer.bin), the same weights are written in llama2.c's legacy
// checkpoint format and run.c decodes the same number of tokens in the same run, so both share the machine's load.
//
//   ANDES_BACKEND=cpu node bench/decode-bench.mjs            # after npm run build
//   RUNC=/tmp/llama2.c/run RUNC_TOKENIZER=/tmp/llama2.c/tokenizer.bin ANDES_BACKEND=cpu node bench/decode-bench.mjs
//   RUNC_O3=/tmp/llama2.c/run-o3 …   # a second run.c build (llama2.c's `make run`: gcc -O3) beside the first
//
// Environment: DECODE_PRESETS (default stories-15m,stories-110m), DECODE_STEPS (default 256), DECODE_REPEATS
// (default 3, the best run is reported: on a shared machine the best is the least disturbed).
//
// Two rates per side: wall-clock tokens/s, and tokens per CPU-second (user + system time of the process, for
// run.c the difference between a run of N tokens and one of 2, which cancels its loading). On a machine shared
// with other work the wall rate depends on how much of a core each side happened to get; the CPU rate does not.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { saveGgufModel } from '@andes/checkpoint';
import { argmax, LlamaForCausalLM, llamaPreset } from '@andes/nn';
import { getBackend, initBackend } from '@andes/tensor';
import { LlamaEngine } from '../dist/index.js';
import { benchTokenizer } from './bench-tokenizer.mjs';

const PRESETS = (process.env.DECODE_PRESETS ?? 'stories-15m,stories-110m').split(',');
const STEPS = Number(process.env.DECODE_STEPS ?? 256);
const REPEATS = Number(process.env.DECODE_REPEATS ?? 3);
const RUNC = process.env.RUNC;
const RUNC_O3 = process.env.RUNC_O3;
const LLAMA = process.env.DECODE_LLAMA !== '0';
const LLAMA_THREADS = Number(process.env.DECODE_LLAMA_THREADS ?? 1);
const PROMPT = [1, 403, 2501, 263];
const GREEDY = { temperature: 0, topK: 0, topP: 1, uniform: 0 };
// run.c's published figures on this machine type (fp32, one thread), for when it is not built here.
const RUNC_PUBLISHED = { 'stories-15m': 115, 'stories-110m': 49 };

await initBackend();
console.log(`# greedy decode, backend ${getBackend().name}, ${STEPS} tokens per run, best of ${REPEATS}`);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model}, node ${process.version}, load ${loadavg()[0].toFixed(2)}`,
);

/** CPU seconds (user + system) between two process.cpuUsage() readings. */
const cpuSeconds = (u) => (u.user + u.system) / 1e6;

/** Wall and CPU tokens/s of `steps` greedy decode steps after a 4-token prompt, best of REPEATS each. */
async function andesDecode(engine, steps) {
  const best = { wall: 0, cpu: 0, tokens: [] };
  for (let r = 0; r < REPEATS; r++) {
    const prompt = PROMPT;
    const [first] = await engine.step([{ seq: 0, ids: prompt, start: 0 }]);
    let token = argmax(first.logits);
    let pos = prompt.length;
    const n = Math.min(steps, engine.maxContext - pos);
    best.tokens = [token];
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      [
        {
          token: { id: token },
        },
      ] = await engine.step([{ seq: 0, ids: [token], start: pos++, sample: GREEDY }]);
      best.tokens.push(token);
    }
    best.cpu = Math.max(best.cpu, n / cpuSeconds(process.cpuUsage(c0)));
    best.wall = Math.max(best.wall, n / ((performance.now() - t0) / 1000));
    engine.release(0);
  }
  return best;
}

/** Writes `model`'s weights as a llama2.c legacy checkpoint (7 int32 header, fp32 tensors in run.c's order). */
async function writeRunCCheckpoint(model, path) {
  const c = model.config;
  const fd = openSync(path, 'w');
  try {
    const header = new Int32Array([
      c.hidden_size,
      c.intermediate_size,
      c.num_hidden_layers,
      c.num_attention_heads,
      c.num_key_value_heads,
      c.vocab_size, // positive: classifier shared with the embedding (tied)
      c.max_position_embeddings,
    ]);
    writeSync(fd, new Uint8Array(header.buffer));
    const sd = model.stateDict();
    const put = async (name) => {
      const data = await sd.get(name).data();
      writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    };
    const perLayer = async (suffix) => {
      for (let l = 0; l < c.num_hidden_layers; l++) await put(`model.layers.${l}.${suffix}`);
    };
    await put('model.embed_tokens.weight');
    await perLayer('input_layernorm.weight');
    for (const p of ['q', 'k', 'v', 'o']) await perLayer(`self_attn.${p}_proj.weight`);
    await perLayer('post_attention_layernorm.weight');
    for (const p of ['gate', 'down', 'up']) await perLayer(`mlp.${p}_proj.weight`);
    await put('model.norm.weight');
    // freq_cis_real / freq_cis_imag: unused by run.c (it computes RoPE itself) but skipped over by its reader.
    writeSync(fd, new Uint8Array(4 * c.max_position_embeddings * (c.hidden_size / c.num_attention_heads)));
  } finally {
    closeSync(fd);
  }
}

/** run.c under bash's `time`: its printed tok/s and its CPU seconds (user + system). */
function runC(binary, checkpoint, steps) {
  const args = [checkpoint, '-t', '0', '-n', String(steps), '-i', 'Once upon a time'];
  if (process.env.RUNC_TOKENIZER) args.push('-z', process.env.RUNC_TOKENIZER);
  const quoted = [binary, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  // run.c prints the text on stdout and its timing on stderr; bash's time report follows on stderr.
  const { stderr, error } = spawnSync('bash', ['-c', `TIMEFORMAT='cpu %3U %3S'; time ${quoted} > /dev/null`], {
    encoding: 'utf8',
  });
  if (error) throw error;
  const rate = /achieved tok\/s: ([\d.]+)/.exec(stderr);
  const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(stderr);
  if (!cpu) throw new Error(`run.c: no timing in its output:\n${stderr.slice(-500)}`);
  return { rate: rate ? Number(rate[1]) : Number.NaN, cpu: Number(cpu[1]) + Number(cpu[2]) };
}

/** run.c's wall tok/s (its own "achieved tok/s") and tokens per CPU-second for `steps` tokens, best of REPEATS. */
function runCDecode(binary, checkpoint, steps) {
  const best = { wall: 0, cpu: 0 };
  for (let r = 0; r < REPEATS; r++) {
    const full = runC(binary, checkpoint, steps);
    const start = runC(binary, checkpoint, 2);
    best.wall = Math.max(best.wall, full.rate);
    best.cpu = Math.max(best.cpu, (steps - 2) / Math.max(1e-3, full.cpu - start.cpu));
  }
  return best;
}

/**
 * llama.cpp's greedy decode of `steps` tokens after PROMPT from a GGUF file, in this process (node-llama-cpp runs
 * its threads inside it, so process.cpuUsage counts them): wall and CPU tokens/s, best of REPEATS, and its tokens.
 * EOS is banned so every run decodes `steps` tokens (Andes's loop ignores EOS too).
 */
async function llamaCppDecode(path, steps) {
  const { getLlama, LlamaLogLevel, TokenBias } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
  const best = { wall: 0, cpu: 0, tokens: [] };
  try {
    const lm = await llama.loadModel({ modelPath: path });
    const ctx = await lm.createContext({ contextSize: PROMPT.length + steps + 16, threads: LLAMA_THREADS });
    const seq = ctx.getSequence();
    const bias = new TokenBias(lm.tokenizer);
    if (lm.tokens.eos != null) bias.set(lm.tokens.eos, 'never');
    for (let r = 0; r < REPEATS; r++) {
      await seq.clearHistory();
      const tokens = [];
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for await (const t of seq.evaluate(PROMPT, { temperature: 0, tokenBias: bias })) {
        tokens.push(t);
        if (tokens.length > steps) break;
      }
      // The first token comes from the prompt's prefill; the other `steps` are decode steps, as on the Andes side.
      best.cpu = Math.max(best.cpu, steps / cpuSeconds(process.cpuUsage(c0)));
      best.wall = Math.max(best.wall, steps / ((performance.now() - t0) / 1000));
      best.tokens = tokens;
    }
    await ctx.dispose();
    await lm.dispose();
  } finally {
    await llama.dispose();
  }
  return best;
}

/** How many leading tokens two greedy runs share. */
const agreeing = (a, b) => {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
};

const rows = [];
for (const preset of PRESETS) {
  const config = llamaPreset(preset, { vocab_size: 32000 });
  const model = new LlamaForCausalLM(config, { seed: 1 });
  const engine = new LlamaEngine(model, { maxSlots: 1, maxContext: Math.min(config.max_position_embeddings, 1024) });
  await andesDecode(engine, 8); // warm-up: kernels compiled, weights cached
  const steps = Math.min(STEPS, engine.maxContext - 8);
  // Interleave Andes and run.c so drifts in the machine's load hit both.
  const andes = await andesDecode(engine, steps);
  let llamacpp = null;
  if (LLAMA) {
    const dir = mkdtempSync(join(tmpdir(), 'andes-llamacpp-'));
    try {
      const gguf = join(dir, `${preset}.f32.gguf`);
      await saveGgufModel(gguf, { config, model, tokenizer: await benchTokenizer(), dtype: 'f32' });
      llamacpp = await llamaCppDecode(gguf, steps);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  let runc = null;
  let runcO3 = null;
  if (RUNC) {
    const dir = mkdtempSync(join(tmpdir(), 'andes-runc-'));
    try {
      const checkpoint = join(dir, `${preset}.bin`);
      await writeRunCCheckpoint(model, checkpoint);
      runc = runCDecode(RUNC, checkpoint, steps);
      if (RUNC_O3) runcO3 = runCDecode(RUNC_O3, checkpoint, steps);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  engine.dispose();
  model.dispose();
  rows.push({ preset, andes, llamacpp, runc, runcO3 });
  if (llamacpp) {
    console.log(
      `${preset}: llama.cpp ${llamacpp.wall.toFixed(1)} tokens/s wall, ${llamacpp.cpu.toFixed(1)} per CPU-second (${LLAMA_THREADS} thread(s), f32 GGUF); Andes/llama.cpp: ${(andes.wall / llamacpp.wall).toFixed(2)}× wall, ${(andes.cpu / llamacpp.cpu).toFixed(2)}× per CPU-second; greedy tokens agree for the first ${agreeing(andes.tokens, llamacpp.tokens)} of ${steps + 1}`,
    );
  }
  const beside =
    runc === null
      ? `run.c published ${RUNC_PUBLISHED[preset] ?? '?'} tokens/s`
      : `run.c here ${runc.wall.toFixed(1)} tokens/s wall, ${runc.cpu.toFixed(1)} per CPU-second (Andes/run.c: ${(andes.cpu / runc.cpu).toFixed(2)}× per CPU-second)`;
  const o3 =
    runcO3 === null
      ? ''
      : `; run.c -O3 ${runcO3.wall.toFixed(1)} tokens/s wall, ${runcO3.cpu.toFixed(1)} per CPU-second (Andes/run.c -O3: ${(andes.cpu / runcO3.cpu).toFixed(2)}×)`;
  console.log(
    `${preset}: Andes ${andes.wall.toFixed(1)} tokens/s wall (${(1000 / andes.wall).toFixed(1)} ms/token), ${andes.cpu.toFixed(1)} per CPU-second; ${beside}${o3}; load ${loadavg()[0].toFixed(2)}`,
  );
}
console.log(`load after: ${loadavg()[0].toFixed(2)}`);
