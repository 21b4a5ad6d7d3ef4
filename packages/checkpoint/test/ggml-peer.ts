/**
 * Test helper: llama.cpp's own block routines (`quantize_row_*_ref`, `dequantize_row_*` in libggml-base.so, shipped
 * prebuilt by node-llama-cpp) called through Python's ctypes, so tests compare with ggml byte for byte. Returns
 * undefined when python3 or the library is not available (tests then skip with a warning).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A ggml block type the reference script knows. */
export type PeerBlockType = 'q8_0' | 'q4_0' | 'q4_K' | 'q6_K';

/** Calls into ggml. */
export interface GgmlPeer {
  /** ggml's `quantize_row_<type>_ref` over float32 values. */
  quantize(type: PeerBlockType, values: Float32Array): Uint8Array;
  /** ggml's `dequantize_row_<type>` over blocks. */
  dequantize(type: PeerBlockType, blocks: Uint8Array, count: number): Float32Array;
}

function findLibrary(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    // The package exports only dist/index.js: its root is two levels up.
    const pkg = dirname(dirname(require.resolve('@node-llama-cpp/linux-x64')));
    const bins = join(pkg, 'bins');
    for (const dir of readdirSync(bins)) {
      const lib = join(bins, dir, 'libggml-base.so');
      if (existsSync(lib)) return lib;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** The ggml peer, or undefined (with the reason) when it cannot run here. */
export function ggmlPeer(): GgmlPeer | string {
  const lib = findLibrary();
  if (!lib) return 'node-llama-cpp linux-x64 binaries (libggml-base.so) not installed';
  const script = join(dirname(fileURLToPath(import.meta.url)), 'ggml-reference.py');
  const run = (args: string[], input: Uint8Array): Uint8Array => {
    const dir = mkdtempSync(join(tmpdir(), 'andes-ggml-'));
    try {
      writeFileSync(join(dir, 'in'), input);
      const r = spawnSync('python3', [script, lib, ...args, join(dir, 'in'), join(dir, 'out')], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ggml-reference.py failed: ${r.stderr || r.error}`);
      return new Uint8Array(readFileSync(join(dir, 'out')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const probe = spawnSync('python3', ['-c', 'import ctypes'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'python3 with ctypes not available';
  return {
    quantize: (type, values) =>
      run(
        ['quantize', type, String(values.length)],
        new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
      ),
    dequantize: (type, blocks, count) => {
      const out = run(['dequantize', type, String(count)], blocks);
      return new Float32Array(out.buffer, out.byteOffset, count);
    },
  };
}
