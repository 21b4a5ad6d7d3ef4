import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { float16ArrayToFloat32 } from '@andes/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostTensor } from './dtypes.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  writeSafetensors,
} from './safetensors.js';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
if (!hasNumpy) console.warn('[skip] python3 + numpy not available: numpy layout cross-check skipped');

/** A file built by hand from the spec: u64 LE length, JSON header, data. */
function handBuilt(header: unknown, data: number[], pad = 0): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32Bytes = (xs: number[]) => Array.from(new Uint8Array(new Float32Array(xs).buffer));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'andes-st-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('decodeSafetensors (hand-built files)', () => {
  it('reads tensors, metadata, padding, scalars and empty tensors', () => {
    const bytes = handBuilt(
      {
        __metadata__: { format: 'pt' },
        b: { dtype: 'I16', shape: [], data_offsets: [8, 10] },
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        e: { dtype: 'F64', shape: [0, 3], data_offsets: [10, 10] },
      },
      [...f32Bytes([1.5, -2]), 0xfe, 0xff],
      5,
    );
    const { tensors, metadata } = decodeSafetensors(bytes, 'x.safetensors');
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()]).toEqual(['a', 'b', 'e']); // file (data offset) order
    expect(Array.from(tensors.get('a')!.data as Float32Array)).toEqual([1.5, -2]);
    expect(tensors.get('b')).toEqual({ dtype: 'I16', shape: [], data: new Int16Array([-2]) });
    expect(tensors.get('e')!.data.length).toBe(0);
  });

  const valid = { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, Uint8Array, RegExp][] = [
    ['file shorter than 8 bytes', new Uint8Array(5), /f\.st: 5 bytes is too short/],
    [
      'header length past the end',
      (() => {
        const b = handBuilt(valid, f32Bytes([1, 2]));
        new DataView(b.buffer).setBigUint64(0, 1000n, true);
        return b;
      })(),
      /f\.st: header length 1000 runs past the end of the \d+-byte file/,
    ],
    [
      'header length over 100 MB',
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 2n ** 40n, true);
        return b;
      })(),
      /exceeds the 100000000-byte limit/,
    ],
    ['header not an object', handBuilt([1, 2], []), /does not start with '\{'/],
    [
      'invalid JSON',
      (() => {
        const b = handBuilt(valid, f32Bytes([1, 2]));
        b[12] = 0x7d;
        return b;
      })(),
      /f\.st: header is not valid UTF-8 JSON/,
    ],
    [
      'duplicate names',
      (() => {
        const text =
          '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
        const json = new TextEncoder().encode(text);
        const b = new Uint8Array(8 + json.length + 8);
        new DataView(b.buffer).setBigUint64(0, BigInt(json.length), true);
        b.set(json, 8);
        return b;
      })(),
      /tensor name "t" appears twice/,
    ],
    [
      'unknown dtype',
      handBuilt({ t: { ...valid.t, dtype: 'F8' } }, f32Bytes([1, 2])),
      /tensor "t": unknown dtype "F8"/,
    ],
    [
      'bad shape',
      handBuilt({ t: { ...valid.t, shape: [2.5] } }, f32Bytes([1, 2])),
      /tensor "t": shape must be an array of non-negative integers/,
    ],
    [
      'size ≠ product(shape)·itemsize',
      handBuilt({ t: { ...valid.t, shape: [3] } }, f32Bytes([1, 2])),
      /tensor "t": data_offsets \[0, 8\] hold 8 bytes but F32 \[3\] needs 12/,
    ],
    [
      'reversed offsets',
      handBuilt({ t: { ...valid.t, data_offsets: [8, 0] } }, f32Bytes([1, 2])),
      /tensor "t": data_offsets must be \[begin, end\]/,
    ],
    [
      'overlap',
      handBuilt({ t: valid.t, u: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32Bytes([1, 2])),
      /tensor "u" at \[4, 8\) overlaps the previous tensor/,
    ],
    [
      'hole',
      handBuilt({ t: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32Bytes([1, 2])),
      /tensor "t" at \[4, 8\) leaves a hole of 4 bytes/,
    ],
    [
      'truncated data',
      handBuilt(valid, f32Bytes([1]).concat([0, 0])),
      /tensor "t" ends at byte 8 but the data section has 6 bytes \(truncated file\?\)/,
    ],
    [
      'unindexed trailing bytes',
      handBuilt(valid, f32Bytes([1, 2, 3])),
      /4 bytes after the last tensor are not indexed/,
    ],
    [
      'non-string metadata',
      handBuilt({ __metadata__: { n: 1 }, ...valid }, f32Bytes([1, 2])),
      /__metadata__\.n must be a string/,
    ],
  ];
  it.each(cases)('rejects %s with an error naming file and tensor', (_, bytes, message) => {
    expect(() => decodeSafetensors(bytes, 'f.st')).toThrow(message);
  });
});

function randomTensors(): Map<string, HostTensor> {
  let s = 12345;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const fill = <T extends { length: number; [i: number]: number }>(a: T, f: () => number) => {
    for (let i = 0; i < a.length; i++) a[i] = f();
    return a;
  };
  return new Map<string, HostTensor>([
    ['w.f64', { dtype: 'F64', shape: [3, 5], data: fill(new Float64Array(15), () => rnd() - 0.5) }],
    ['w.f32', { dtype: 'F32', shape: [7, 3, 2], data: fill(new Float32Array(42), () => rnd() * 100 - 50) }],
    ['w.f16', { dtype: 'F16', shape: [5], data: fill(new Uint16Array(5), () => (rnd() * 0x7c00) | 0) }],
    ['w.bf16', { dtype: 'BF16', shape: [3, 1], data: fill(new Uint16Array(3), () => (rnd() * 0x7f80) | 0) }],
    ['i.i64', { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 12345678901234n]) }],
    ['i.i32', { dtype: 'I32', shape: [3], data: new Int32Array([-2147483648, 0, 2147483647]) }],
    ['i.i16', { dtype: 'I16', shape: [1, 3], data: new Int16Array([-32768, 7, 32767]) }],
    ['i.i8', { dtype: 'I8', shape: [5], data: new Int8Array([-128, -1, 0, 1, 127]) }],
    ['u.u8', { dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) }],
    ['u.bool', { dtype: 'BOOL', shape: [4], data: new Uint8Array([1, 0, 0, 1]) }],
    ['u.u16', { dtype: 'U16', shape: [1], data: new Uint16Array([65535]) }],
    ['u.u32', { dtype: 'U32', shape: [1], data: new Uint32Array([4294967295]) }],
    ['u.u64', { dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) }],
    ['scalar', { dtype: 'F32', shape: [], data: new Float32Array([3.25]) }],
    ['empty', { dtype: 'F32', shape: [4, 0], data: new Float32Array(0) }],
  ]);
}

describe('encodeSafetensors', () => {
  it('follows the spec layout: u64 LE length, space-padded JSON to 8 bytes, tensors by element size', () => {
    const bytes = encodeSafetensors(randomTensors(), { format: 'pt' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.trimEnd().length).toBeGreaterThan(n - 8);
    expect(text.slice(text.trimEnd().length)).toMatch(/^ *$/);
    const header = JSON.parse(text) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    expect(header.__metadata__).toEqual({ format: 'pt' });
    // Every tensor starts aligned to its element size within the (8-aligned) data section.
    for (const [name, e] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const size = { F64: 8, I64: 8, U64: 8, F32: 4, I32: 4, U32: 4, F16: 2, BF16: 2, I16: 2, U16: 2 }[e.dtype] ?? 1;
      expect(e.data_offsets[0] % size).toBe(0);
    }
  });

  it('round-trips every dtype, scalars and empty tensors', () => {
    const tensors = randomTensors();
    const back = decodeSafetensors(encodeSafetensors(tensors)).tensors;
    expect(new Set(back.keys())).toEqual(new Set(tensors.keys()));
    for (const [name, t] of tensors) expect(back.get(name), name).toEqual(t);
  });

  it('rejects data whose size does not match the shape', () => {
    expect(() => encodeSafetensors({ x: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(
      /tensor "x" has 8 bytes of data but F32 \[3\] needs 12/,
    );
  });
});

describe('files', () => {
  it('writes atomically and reads the header alone, all tensors, or a subset', async () => {
    const path = join(dir, 'model.safetensors');
    const tensors = randomTensors();
    await writeSafetensors(path, tensors, { format: 'pt' });
    expect(new Uint8Array(await readFile(path))).toEqual(encodeSafetensors(tensors, { format: 'pt' }));
    const header = await readSafetensorsHeader(path);
    expect(header.entries.map((e) => e.name).sort()).toEqual([...tensors.keys()].sort());
    expect(header.dataStart % 8).toBe(0);
    const some = await readSafetensors(path, { names: ['w.f32', 'i.i8'] });
    expect([...some.tensors.keys()]).toEqual(['w.f32', 'i.i8']);
    expect(some.tensors.get('w.f32')).toEqual(tensors.get('w.f32'));
    expect((await readSafetensors(path)).tensors.get('u.u64')).toEqual(tensors.get('u.u64'));
    await expect(readSafetensors(path, { names: ['nope'] })).rejects.toThrow(
      /model\.safetensors: no tensor named "nope"/,
    );
  });

  it('reads the header and one small tensor of a file too large to hold in memory (sparse 4 GiB tensor)', async () => {
    const path = join(dir, 'huge.safetensors');
    const header = {
      small: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      huge: { dtype: 'F32', shape: [2 ** 30], data_offsets: [8, 8 + 2 ** 32] },
    };
    const head = handBuilt(header, f32Bytes([7, -7]));
    await writeFile(path, head);
    await truncate(path, head.length + 2 ** 32); // sparse: no disk blocks, no memory
    const parsed = await readSafetensorsHeader(path);
    expect(parsed.entries.map((e) => [e.name, e.shape])).toEqual([
      ['small', [2]],
      ['huge', [2 ** 30]],
    ]);
    const { tensors } = await readSafetensors(path, { names: ['small'] });
    expect(tensors.get('small')!.data).toEqual(new Float32Array([7, -7]));
    await rm(path);
  });

  it('reports a truncated file by name', async () => {
    const path = join(dir, 'cut.safetensors');
    const bytes = encodeSafetensors(randomTensors());
    await writeFile(path, bytes.subarray(0, bytes.length - 3));
    await expect(readSafetensorsHeader(path)).rejects.toThrow(
      /cut\.safetensors: tensor ".*" ends at byte \d+ but the data section has/,
    );
  });

  it.skipIf(!hasNumpy)('numpy reads our layout, and we read a file numpy wrote by the spec', async () => {
    const ours = join(dir, 'ours.safetensors');
    const tensors = randomTensors();
    tensors.delete('w.bf16'); // numpy has no bfloat16
    await writeSafetensors(ours, tensors);
    const script = `
import json, struct, sys, numpy as np
np_types = {"F64":"<f8","F32":"<f4","F16":"<f2","I64":"<i8","I32":"<i4","I16":"<i2","I8":"i1","U8":"u1","BOOL":"?","U16":"<u2","U32":"<u4","U64":"<u8"}
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8+n])
data = raw[8+n:]
out = {}
for name, e in header.items():
    if name == "__metadata__": continue
    b, end = e["data_offsets"]
    a = np.frombuffer(data[b:end], dtype=np_types[e["dtype"]]).reshape(e["shape"])
    out[name] = [str(v) for v in a.astype(object).ravel().tolist()] if e["dtype"] in ("I64","U64") else a.astype("<f8").ravel().tolist()
# And write a file by the spec with numpy arrays (no padding, insertion order).
arrs = {"x": np.arange(6, dtype="<f2").reshape(2, 3) / 4, "y": np.array([-3, 9], dtype="<i8"), "z": np.array(True)}
hdr, off, blobs = {}, 0, []
for k, a in arrs.items():
    blob = a.tobytes()
    hdr[k] = {"dtype": {"float16":"F16","int64":"I64","bool":"BOOL"}[a.dtype.name], "shape": list(a.shape), "data_offsets": [off, off + len(blob)]}
    off += len(blob); blobs.append(blob)
h = json.dumps(hdr).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print(json.dumps(out))
`;
    const theirs = join(dir, 'theirs.safetensors');
    const run = spawnSync('python3', ['-c', script, ours, theirs], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const seen = JSON.parse(run.stdout) as Record<string, (number | string)[]>;
    for (const [name, t] of tensors) {
      const expected =
        t.dtype === 'I64' || t.dtype === 'U64'
          ? Array.from(t.data as BigInt64Array, String)
          : t.dtype === 'F16'
            ? Array.from(float16ArrayToFloat32(t.data as Uint16Array))
            : Array.from(t.data as ArrayLike<number>, Number);
      expect(seen[name], name).toEqual(expected);
    }
    const back = await readSafetensors(theirs);
    expect(back.tensors.get('x')!.shape).toEqual([2, 3]);
    expect(Array.from(float16ArrayToFloat32(back.tensors.get('x')!.data as Uint16Array))).toEqual([
      0, 0.25, 0.5, 0.75, 1, 1.25,
    ]);
    expect(back.tensors.get('y')!.data).toEqual(new BigInt64Array([-3n, 9n]));
    expect(back.tensors.get('z')).toEqual({ dtype: 'BOOL', shape: [], data: new Uint8Array([1]) });
  });
});
