// Benchmark: peak memory of a LLaMA-7B-shaped model (dim 4096, 32 layers, 32 heads, hidden 11008, vocab 32000,
// untied head; random weights, LLaMA 2's tokenizer embedded) loaded on the CPU backend with `dtype: 'keep'` and
// generating 8 greedy tokens, in Q4_0 and in F16. Issue 12's targets: peak RSS < 6 GB (Q4_0), < 15 GB (F16).
//
// The parent writes each GGUF streaming (`saveRandomGgufModel`: one random encoding per distinct shape, never a float32
// model), then runs the load + generation in a fresh child process, which reports its own peak RSS (VmHWM and
// `process.resourceUsage().maxRSS`), load time and seconds per token. With `--peer`, llama.cpp (node-llama-cpp 3.21.1,
// CPU) loads the same file in another fresh child and generates the same 8 tokens, for a side-by-side row. The files
// are deleted at the end unless `--keep`.
//
// usage: node packages/checkpoint/bench/llama7b-memory.mjs [--dtypes q4_0,f16] [--tokens 8] [--dir /tmp/andes-7b]
//          [--peer] [--threads 2] [--keep] [--layers 32] [--write-only (write the files and stop)]
//        (npm run bench:llama7b-memory -w @andes/checkpoint -- --peer)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = resolve(here, '../../../../shared/fixtures/llama2-tokenizer.model');
const prompt = 'Once upon a time';
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const flag = (name) => args.includes(`--${name}`);

/** Peak and current resident set of this process, in bytes (Linux /proc). */
function residentBytes() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { peak: kb('VmHWM'), now: kb('VmRSS') };
}

/** Child: load `path` with Andes on the CPU backend, generate `tokens` greedy tokens, print one JSON line. */
async function andesChild(path, tokens) {
  const { setBackend } = await import('@andes/tensor');
  const { loadModel } = await import('@andes/checkpoint');
  const { generate, LlamaForCausalLM } = await import('@andes/nn');
  await setBackend('cpu');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const loaded = await loadModel(path, { dtype: 'keep' });
  const model = LlamaForCausalLM.fromWeights(loaded.config, loaded);
  const loadSeconds = (performance.now() - t0) / 1000;
  const afterLoad = residentBytes();
  // Progress on stderr: a run can take many minutes on a loaded machine.
  console.error(`andes: loaded in ${loadSeconds.toFixed(1)} s, peak RSS so far ${gb(afterLoad.peak)} GB`);
  const ids = Array.from(loaded.tokenizer.encode(prompt, { bos: true }));
  const times = [];
  const out = [];
  let last = performance.now();
  // maxSeq = prompt + tokens: a float32 cache of a few positions (generate sizes it so).
  for await (const id of generate(model, ids, { maxNewTokens: tokens, temperature: 0, stop: () => false })) {
    const now = performance.now();
    times.push((now - last) / 1000);
    last = now;
    out.push(id);
    console.error(
      `andes: token ${out.length} (${id}) after ${times.at(-1).toFixed(1)} s, peak RSS ${gb(residentBytes().peak)} GB`,
    );
  }
  const cpu = process.cpuUsage(cpu0);
  const end = residentBytes();
  console.log(
    JSON.stringify({
      loadSeconds,
      promptTokens: ids.length,
      firstTokenSeconds: times[0],
      decodeSecondsPerToken: times.slice(1).reduce((a, b) => a + b, 0) / Math.max(1, times.length - 1),
      generated: out,
      text: loaded.tokenizer.decode(out),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rssAfterLoad: afterLoad.now,
      peakRssAfterLoad: afterLoad.peak,
      peakRss: end.peak,
      maxRss: process.resourceUsage().maxRSS * 1024,
    }),
  );
  model.dispose();
}

/** Child: the same with llama.cpp (node-llama-cpp's prebuilt CPU binary, default mmap). */
async function peerChild(path, tokens, threads) {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({ contextSize: 64, threads, batchSize: 64 });
  const loadSeconds = (performance.now() - t0) / 1000;
  const afterLoad = residentBytes();
  const ids = model.tokenize(prompt);
  const sequence = context.getSequence();
  const times = [];
  const out = [];
  let last = performance.now();
  for await (const id of sequence.evaluate([model.tokens.bos, ...ids], { temperature: 0 })) {
    const now = performance.now();
    times.push((now - last) / 1000);
    last = now;
    out.push(id);
    if (out.length >= tokens) break;
  }
  const cpu = process.cpuUsage(cpu0);
  const end = residentBytes();
  console.log(
    JSON.stringify({
      loadSeconds,
      promptTokens: ids.length + 1,
      firstTokenSeconds: times[0],
      decodeSecondsPerToken: times.slice(1).reduce((a, b) => a + b, 0) / Math.max(1, times.length - 1),
      generated: out,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rssAfterLoad: afterLoad.now,
      peakRssAfterLoad: afterLoad.peak,
      peakRss: end.peak,
      maxRss: process.resourceUsage().maxRSS * 1024,
    }),
  );
  await context.dispose();
  await model.dispose();
  await llama.dispose();
}

/** Runs this script as a child in `mode` and returns its JSON report (stderr passes through). */
function runChild(mode, path, tokens, threads) {
  return new Promise((resolvePromise, reject) => {
    const script = fileURLToPath(import.meta.url);
    const child = spawn(process.execPath, [script, `--child-${mode}`, path, String(tokens), threads], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`${mode} child exited with ${code ?? signal}: ${stdout.slice(-2000)}`));
      else resolvePromise(JSON.parse(line));
    });
  });
}

const gb = (bytes) => (bytes / 1e9).toFixed(2);

async function main() {
  const dtypes = option('dtypes', 'q4_0,f16').split(',');
  const tokens = Number(option('tokens', '8'));
  const threads = option('threads', '2');
  const dir = option('dir', '/tmp/andes-llama7b-memory');
  const { setBackend } = await import('@andes/tensor');
  const { saveRandomGgufModel } = await import('@andes/checkpoint');
  const { llamaConfig } = await import('@andes/nn');
  const { SentencePieceTokenizer } = await import('@andes/tokenizer');
  if (!existsSync(fixture)) throw new Error(`llama7b-memory: LLaMA 2 tokenizer fixture missing at ${fixture}`);
  const tokenizer = SentencePieceTokenizer.fromBytes(new Uint8Array(await readFile(fixture)));
  const config = llamaConfig({
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: Number(option('layers', '32')), // fewer for a quick check of the script
    num_attention_heads: 32,
    num_key_value_heads: 32,
    max_position_embeddings: 4096,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: false,
  });
  await setBackend('cpu');
  await mkdir(dir, { recursive: true });
  console.log(
    `${new Date().toISOString()} load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  const rows = [];
  for (const dtype of dtypes) {
    const path = join(dir, `llama7b-random.${config.num_hidden_layers}l.${dtype}.gguf`);
    if (!existsSync(path)) {
      const t0 = performance.now();
      await saveRandomGgufModel(path, { config, dtype, tokenizer, seed: 1 });
      const s = ((performance.now() - t0) / 1000).toFixed(0);
      console.log(
        `wrote ${path}: ${gb((await stat(path)).size)} GB in ${s} s (writer peak RSS ${gb(residentBytes().peak)} GB)`,
      );
    }
    if (flag('write-only')) continue;
    const fileBytes = (await stat(path)).size;
    const engines = flag('peer') ? ['andes', 'peer'] : ['andes'];
    for (const engine of engines) {
      const before = loadavg()[0];
      const r = await runChild(engine, path, tokens, threads);
      const row = { dtype, engine, fileBytes, loadAverage: [before, loadavg()[0]], ...r };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
    if (!flag('keep')) await rm(path, { force: true });
  }
  console.log(
    '| dtype | engine | file GB | peak RSS GB | load s | first token s | decode s/token | CPU s | tokens | load avg |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    // Greedy ids of the same file: Andes and llama.cpp should agree (random weights, so only the ids mean anything).
    const other = rows.find((o) => o.dtype === r.dtype && o.engine !== r.engine);
    const same = other ? (other.generated.join() === r.generated.join() ? 'same ids' : 'ids differ') : '';
    console.log(
      `| ${r.dtype} | ${r.engine === 'andes' ? 'Andes CPU (keep)' : 'llama.cpp'} | ${gb(r.fileBytes)} | ${gb(r.peakRss)} | ${r.loadSeconds.toFixed(1)} | ${r.firstTokenSeconds.toFixed(1)} | ${r.decodeSecondsPerToken.toFixed(1)} | ${r.cpuSeconds.toFixed(0)} | ${r.generated.length} ${same} | ${r.loadAverage.map((x) => x.toFixed(1)).join('→')} |`,
    );
  }
  if (!flag('keep') && !flag('write-only')) await rm(dir, { recursive: true, force: true });
}

if (args[0] === '--child-andes') await andesChild(args[1], Number(args[2]));
else if (args[0] === '--child-peer') await peerChild(args[1], Number(args[2]), Number(args[3]));
else await main();
