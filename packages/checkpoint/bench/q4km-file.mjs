// A Q4_K_M GGUF made by llama.cpp's own quantizer from an f32 GGUF (for the decode benches): matrices as llama.cpp's
// Q4_K_M picks them for these tensor names (Q6_K for output, attn_v and ffn_down, Q4_K elsewhere; norms stay F32),
// each quantized by ggml's `quantize_row_q4_K_ref` / `quantize_row_q6_K_ref` from node-llama-cpp's prebuilt
// libggml-base.so through python3's ctypes (test/ggml-reference.py). Every matrix row must be whole 256-weight
// super-blocks (stories-110m: 768 and 2048 are; stories-15m's 288 is not).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgufFile, writeGguf } from '@andes/checkpoint';

const script = join(dirname(fileURLToPath(import.meta.url)), '../test/ggml-reference.py');

/** libggml-base.so of node-llama-cpp's linux-x64 binaries, or a thrown Error saying what is missing. */
function ggmlLibrary() {
  const pkg = dirname(dirname(createRequire(import.meta.url).resolve('@node-llama-cpp/linux-x64')));
  for (const dir of readdirSync(join(pkg, 'bins'))) {
    const lib = join(pkg, 'bins', dir, 'libggml-base.so');
    if (existsSync(lib)) return lib;
  }
  throw new Error('q4km-file: no libggml-base.so in @node-llama-cpp/linux-x64');
}

/** ggml's blocks of `values` in `type` (q4_K | q6_K). */
function ggmlQuantize(lib, type, values) {
  const dir = mkdtempSync(join(tmpdir(), 'andes-q4km-'));
  try {
    writeFileSync(join(dir, 'in'), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    const args = [script, lib, 'quantize', type, String(values.length), join(dir, 'in'), join(dir, 'out')];
    const r = spawnSync('python3', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`q4km-file: ggml-reference.py failed: ${r.stderr || r.error}`);
    return new Uint8Array(readFileSync(join(dir, 'out')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes `out`: the f32 GGUF at `source` with its matrices in Q4_K_M's types (metadata kept, file type 15). */
export async function writeQ4kmFile(source, out) {
  const lib = ggmlLibrary();
  const file = await GgufFile.open(source);
  try {
    const metadata = new Map(file.header.metadata);
    metadata.set('general.file_type', { type: 'u32', value: 15 }); // LLAMA_FTYPE_MOSTLY_Q4_K_M
    const tensors = [];
    for (const info of file.header.tensors) {
      const values = new Float32Array((await file.tensorBytes(info)).slice().buffer);
      if (info.shape.length === 1) {
        tensors.push({ name: info.name, shape: info.shape, type: 'F32', data: () => new Uint8Array(values.buffer) });
        continue;
      }
      const type = /output\.weight|attn_v|ffn_down/.test(info.name) ? 'Q6_K' : 'Q4_K';
      const bytes = ggmlQuantize(lib, type === 'Q6_K' ? 'q6_K' : 'q4_K', values);
      tensors.push({ name: info.name, shape: info.shape, type, data: () => bytes });
    }
    await writeGguf(out, { metadata, tensors });
  } finally {
    await file.close();
  }
}
