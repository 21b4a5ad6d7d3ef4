/**
 * Generated corpora for reader and prepare tests, written with independent libraries: gzip by Node's zlib,
 * zstd by zstd-codec (Emscripten build of the reference C library; our reader uses fzstd), Parquet by hyparquet-writer.
 */
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { SeededRandom } from '@andes/tensor';
import { parquetWriteBuffer } from 'hyparquet-writer';

const require = createRequire(import.meta.url);

/** A generated record: text plus metadata. */
export interface FixtureRecord {
  text: string;
  meta: { id: number; license: string };
}

const alphabet = [
  'the',
  'cat',
  'ünïcødé',
  '日本語',
  'emoji 🎉',
  'quote "x"',
  'back\\slash',
  'tab\there',
  'line\nbreak',
  'word',
];

/** `count` records of random length (one very long, to cross read-chunk boundaries), seeded. */
export function fixtureRecords(count: number, seed = 1): FixtureRecord[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const words = i === 3 ? 40_000 : 1 + rng.int(60);
    const text = Array.from({ length: words }, () => rng.pick(alphabet)).join(' ');
    return { text: `${i}: ${text}`, meta: { id: i, license: rng.pick(['mit', 'gpl-3.0']) } };
  });
}

/** JSON Lines of the records. */
export function toJsonl(records: readonly FixtureRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** gzip of `text` split into two gzip members (as concatenated `.gz` files are). */
export function gzipTwoMembers(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  const half = Math.floor(bytes.length / 2);
  return Buffer.concat([gzipSync(bytes.subarray(0, half)), gzipSync(bytes.subarray(half))]);
}

/** zstd of `text` as two concatenated frames, compressed by the reference C library (zstd-codec). */
export async function zstdTwoFrames(text: string): Promise<Uint8Array> {
  const { ZstdCodec } = require('zstd-codec') as {
    ZstdCodec: {
      run(cb: (z: { Simple: new () => { compress(d: Uint8Array, level: number): Uint8Array } }) => void): void;
    };
  };
  const simple = await new Promise<{ compress(d: Uint8Array, level: number): Uint8Array }>((resolve) =>
    ZstdCodec.run((z) => resolve(new z.Simple())),
  );
  const bytes = Buffer.from(text, 'utf8');
  const half = Math.floor(bytes.length / 2);
  return Buffer.concat([simple.compress(bytes.subarray(0, half), 3), simple.compress(bytes.subarray(half), 19)]);
}

/** A Parquet file of the records (`text`, `id`, `license` columns) in row groups of `rowGroupSize`. */
export function toParquet(
  records: readonly FixtureRecord[],
  rowGroupSize: number,
  codec: 'SNAPPY' | 'UNCOMPRESSED' = 'SNAPPY',
): Uint8Array {
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'text', data: records.map((r) => r.text), type: 'STRING' },
        { name: 'id', data: records.map((r) => r.meta.id), type: 'INT32' },
        { name: 'license', data: records.map((r) => r.meta.license), type: 'STRING' },
      ],
      rowGroupSize,
      codec,
    }),
  );
}
