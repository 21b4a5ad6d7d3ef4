import type { LanguageIdentifier } from './language-id.js';

/**
 * fastText supervised models (`.bin`, and quantized `.ftz`) read from fastText 0.9's binary format and evaluated as
 * `fasttext predict-prob` does: the line's words (plus the `</s>` end-of-line token), their character n-grams
 * (hashed into `bucket` rows) and word n-grams are averaged into a hidden vector, which the output layer scores with a
 * softmax, a hierarchical softmax (Huffman tree over label counts), or one-vs-all sigmoids. CCNet used such a model
 * (`lid.176.bin`) for language identification.
 */

const MAGIC = 793712314;
const EOS = '</s>';
const LABEL_PREFIX = '__label__';
enum Loss {
  hs = 1,
  ns = 2,
  softmax = 3,
  ova = 4,
}

/** Byte reader over the model file; errors name the file and offset. */
class Cursor {
  private at = 0;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly path: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number, what: string): void {
    if (this.at + n > this.bytes.length)
      throw new Error(`${this.path}: truncated fastText model (reading ${what} at byte ${this.at})`);
  }
  i32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.at, true);
    this.at += 4;
    return v;
  }
  i64(what: string): number {
    this.need(8, what);
    const v = Number(this.view.getBigInt64(this.at, true));
    this.at += 8;
    return v;
  }
  f64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }
  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.at++]!;
  }
  cstring(what: string): string {
    const end = this.bytes.indexOf(0, this.at);
    if (end < 0) throw new Error(`${this.path}: truncated fastText model (reading ${what} at byte ${this.at})`);
    const s = Buffer.from(this.bytes.subarray(this.at, end)).toString('utf8');
    this.at = end + 1;
    return s;
  }
  floats(n: number, what: string): Float32Array {
    this.need(4 * n, what);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getFloat32(this.at + 4 * i, true);
    this.at += 4 * n;
    return out;
  }
  bytesOf(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }
  get offset(): number {
    return this.at;
  }
}

/** fastText's 32-bit FNV-1a over bytes read as signed chars (so bytes ≥ 0x80 are sign-extended first). */
export function fastTextHash(bytes: Uint8Array): number {
  let h = 2166136261;
  for (let i = 0; i < bytes.length; i++) {
    h = (h ^ ((bytes[i]! << 24) >> 24)) >>> 0;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h >>> 0;
}

/** A row source: dense rows, or product-quantized codes decoded on the fly. */
interface Rows {
  readonly cols: number;
  addRow(out: Float64Array, row: number): void;
  dotRow(vec: Float64Array, row: number): number;
}

function denseRows(c: Cursor): Rows {
  const m = c.i64('matrix rows');
  const n = c.i64('matrix columns');
  const data = c.floats(m * n, 'matrix data');
  return {
    cols: n,
    addRow(out, row) {
      for (let j = 0; j < n; j++) out[j]! += data[row * n + j]!;
    },
    dotRow(vec, row) {
      let d = 0;
      for (let j = 0; j < n; j++) d += data[row * n + j]! * vec[j]!;
      return d;
    },
  };
}

interface ProductQuantizer {
  dim: number;
  nsubq: number;
  dsub: number;
  lastdsub: number;
  centroids: Float32Array;
}

function readPq(c: Cursor): ProductQuantizer {
  const dim = c.i32('pq dim');
  const nsubq = c.i32('pq nsubq');
  const dsub = c.i32('pq dsub');
  const lastdsub = c.i32('pq lastdsub');
  return { dim, nsubq, dsub, lastdsub, centroids: c.floats(dim * 256, 'pq centroids') };
}

/** Offset of centroid `i` of sub-quantizer `m` (the last one has `lastdsub` dimensions). */
function centroidAt(pq: ProductQuantizer, m: number, i: number): number {
  return m === pq.nsubq - 1 ? m * 256 * pq.dsub + i * pq.lastdsub : (m * 256 + i) * pq.dsub;
}

function quantRows(c: Cursor): Rows {
  const qnorm = c.u8('qnorm') !== 0;
  const m = c.i64('matrix rows');
  const n = c.i64('matrix columns');
  const codes = c.bytesOf(c.i32('code size'), 'codes');
  const pq = readPq(c);
  const normCodes = qnorm ? c.bytesOf(m, 'norm codes') : null;
  const npq = qnorm ? readPq(c) : null;
  const norm = (row: number) => (npq && normCodes ? npq.centroids[centroidAt(npq, 0, normCodes[row]!)]! : 1);
  const visit = (row: number, f: (col: number, value: number) => void) => {
    const alpha = norm(row);
    for (let s = 0; s < pq.nsubq; s++) {
      const at = centroidAt(pq, s, codes[pq.nsubq * row + s]!);
      const d = s === pq.nsubq - 1 ? pq.lastdsub : pq.dsub;
      for (let k = 0; k < d; k++) f(s * pq.dsub + k, alpha * pq.centroids[at + k]!);
    }
  };
  return {
    cols: n,
    addRow(out, row) {
      visit(row, (col, v) => {
        out[col]! += v;
      });
    },
    dotRow(vec, row) {
      let d = 0;
      visit(row, (col, v) => {
        d += v * vec[col]!;
      });
      return d;
    },
  };
}

/** A prediction: label (without `__label__`) and probability. */
export interface FastTextPrediction {
  /** The label, e.g. `en` for `__label__en`. */
  label: string;
  /** Probability as `fasttext predict-prob` prints it. */
  probability: number;
}

/** A loaded fastText supervised model; see {@link loadFastTextModel}. */
export class FastTextModel {
  private readonly ids = new Map<string, number>();
  private readonly subwords: number[][];
  private readonly tree: { left: number; right: number; count: number }[] = [];

  private constructor(
    private readonly args: {
      dim: number;
      wordNgrams: number;
      loss: number;
      bucket: number;
      minn: number;
      maxn: number;
    },
    private readonly words: { word: string; count: number; type: number }[],
    private readonly nwords: number,
    private readonly pruneidx: Map<number, number> | null,
    private readonly pruneidxSize: number,
    private readonly input: Rows,
    private readonly output: Rows,
  ) {
    for (const [i, w] of words.entries()) this.ids.set(w.word, i);
    this.subwords = words.map((w, i) => (w.word === EOS ? [i] : [i, ...this.charNgrams(w.word)]));
    if (args.loss === Loss.hs) this.buildTree(words.slice(nwords).map((w) => w.count));
  }

  /** Parses a model file's bytes (`path` names it in errors). */
  static fromBytes(bytes: Uint8Array, path = 'model'): FastTextModel {
    const c = new Cursor(bytes, path);
    const magic = c.i32('magic');
    if (magic !== MAGIC) throw new Error(`${path}: not a fastText model (magic ${magic}, expected ${MAGIC})`);
    const version = c.i32('version');
    if (version !== 12 && version !== 11)
      throw new Error(`${path}: fastText model version ${version} is not supported (11, 12)`);
    const [dim, , , , , wordNgrams, loss, model, bucket, minn, maxn] = Array.from({ length: 12 }, (_, i) =>
      c.i32(`args[${i}]`),
    );
    c.f64('args.t');
    if (model !== 3)
      throw new Error(`${path}: fastText model type ${model} is not supervised (3): no labels to predict`);
    const size = c.i32('dictionary size');
    const nwords = c.i32('nwords');
    c.i32('nlabels');
    c.i64('ntokens');
    const pruneidxSize = c.i64('pruneidx size');
    const words = Array.from({ length: size }, () => ({
      word: c.cstring('word'),
      count: c.i64('count'),
      type: c.u8('type'),
    }));
    let pruneidx: Map<number, number> | null = null;
    if (pruneidxSize > 0) {
      pruneidx = new Map();
      for (let i = 0; i < pruneidxSize; i++) pruneidx.set(c.i32('pruneidx'), c.i32('pruneidx'));
    }
    const quantInput = c.u8('quant input') !== 0;
    const input = quantInput ? quantRows(c) : denseRows(c);
    const quantOutput = c.u8('quant output') !== 0;
    const output = quantInput && quantOutput ? quantRows(c) : denseRows(c);
    if (c.offset !== bytes.length)
      throw new Error(`${path}: ${bytes.length - c.offset} unexpected bytes after the model`);
    return new FastTextModel(
      {
        dim: dim!,
        wordNgrams: wordNgrams!,
        loss: loss!,
        bucket: bucket!,
        minn: minn!,
        maxn: version === 11 ? 0 : maxn!,
      },
      words,
      nwords,
      pruneidx,
      pruneidxSize,
      input,
      output,
    );
  }

  /** Labels the model knows, without `__label__`. */
  get labels(): string[] {
    return this.words.slice(this.nwords).map((w) => w.word.slice(LABEL_PREFIX.length));
  }

  /** Row of a hashed n-gram (`nwords + id`), through the prune map of a quantized model; −1 when dropped. */
  private ngramRow(id: number): number {
    if (this.pruneidxSize === 0 || id < 0) return -1;
    if (this.pruneidx) return this.pruneidx.has(id) ? this.nwords + this.pruneidx.get(id)! : -1;
    return this.nwords + id;
  }

  /** Character n-grams (minn..maxn UTF-8 characters) of `<word>`, hashed into bucket rows. */
  private charNgrams(word: string): number[] {
    const { minn, maxn, bucket } = this.args;
    if (maxn <= 0) return [];
    const bytes = Buffer.from(`<${word}>`, 'utf8');
    const out: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i]! & 0xc0) === 0x80) continue;
      let j = i;
      for (let n = 1; j < bytes.length && n <= maxn; n++) {
        j++;
        while (j < bytes.length && (bytes[j]! & 0xc0) === 0x80) j++;
        if (n >= minn && !(n === 1 && (i === 0 || j === bytes.length))) {
          const row = this.ngramRow(fastTextHash(bytes.subarray(i, j)) % bucket);
          if (row >= 0) out.push(row);
        }
      }
    }
    return out;
  }

  /** Input rows of a line: words (in vocabulary: word + its n-grams; otherwise n-grams only), then word n-grams. */
  private inputRows(text: string): number[] {
    const rows: number[] = [];
    const hashes: number[] = [];
    const tokens = [...text.split(/[ \n\r\t\v\f\0]+/).filter((t) => t !== ''), EOS];
    for (const token of tokens) {
      const id = this.ids.get(token);
      const isLabel = id === undefined ? token.startsWith(LABEL_PREFIX) : this.words[id]!.type === 1;
      if (isLabel) continue;
      if (id !== undefined) rows.push(...this.subwords[id]!);
      else if (token !== EOS) rows.push(...this.charNgrams(token));
      hashes.push(fastTextHash(Buffer.from(token, 'utf8')));
    }
    // fastText keeps word hashes as int32 and widens them to uint64 here: values ≥ 2^31 are sign-extended.
    const bucket = BigInt(this.args.bucket);
    const wide = (x: number) => BigInt.asUintN(64, BigInt(x | 0));
    for (let i = 0; i < hashes.length; i++) {
      let h = wide(hashes[i]!);
      for (let j = i + 1; j < hashes.length && j < i + this.args.wordNgrams; j++) {
        h = BigInt.asUintN(64, h * 116049371n + wide(hashes[j]!));
        const row = this.ngramRow(Number(h % bucket));
        if (row >= 0) rows.push(row);
      }
    }
    return rows;
  }

  private buildTree(counts: number[]): void {
    const n = counts.length;
    for (let i = 0; i < 2 * n - 1; i++) this.tree.push({ left: -1, right: -1, count: i < n ? counts[i]! : 1e15 });
    let leaf = n - 1;
    let node = n;
    for (let i = n; i < 2 * n - 1; i++) {
      const pick = () => (leaf >= 0 && this.tree[leaf]!.count < this.tree[node]!.count ? leaf-- : node++);
      const a = pick();
      const b = pick();
      this.tree[i] = { left: a, right: b, count: this.tree[a]!.count + this.tree[b]!.count };
    }
  }

  /**
   * The `k` most likely labels of one line of text (newlines are treated as spaces), most likely first, with the
   * probabilities `fasttext predict-prob` prints (which add fastText's 1e-5 log smoothing). Empty without input rows.
   */
  predict(text: string, k = 1): FastTextPrediction[] {
    const rows = this.inputRows(text.replace(/\n/g, ' '));
    if (rows.length === 0) return [];
    const hidden = new Float64Array(this.args.dim);
    for (const r of rows) this.input.addRow(hidden, r);
    for (let i = 0; i < hidden.length; i++) hidden[i]! /= rows.length;
    const nlabels = this.words.length - this.nwords;
    const scored: [number, number][] = [];
    const logp = (x: number) => Math.log(x + 1e-5);
    if (this.args.loss === Loss.hs) {
      const dfs = (node: number, score: number) => {
        const t = this.tree[node]!;
        if (t.left === -1 && t.right === -1) {
          scored.push([score, node]);
          return;
        }
        const f = 1 / (1 + Math.exp(-this.output.dotRow(hidden, node - nlabels)));
        dfs(t.left, score + logp(1 - f));
        dfs(t.right, score + logp(f));
      };
      dfs(2 * nlabels - 2, 0);
    } else {
      const out = Array.from({ length: nlabels }, (_, i) => this.output.dotRow(hidden, i));
      if (this.args.loss === Loss.softmax) {
        const max = Math.max(...out);
        const exps = out.map((o) => Math.exp(o - max));
        const z = exps.reduce((a, b) => a + b, 0);
        for (const [i, e] of exps.entries()) scored.push([logp(e / z), i]);
      } else {
        for (const [i, o] of out.entries()) scored.push([logp(1 / (1 + Math.exp(-o))), i]);
      }
    }
    scored.sort((a, b) => b[0] - a[0]);
    return scored.slice(0, k).map(([score, i]) => ({
      label: this.words[this.nwords + i]!.word.slice(LABEL_PREFIX.length),
      probability: Math.exp(score),
    }));
  }

  /** This model as a {@link LanguageIdentifier} (`__label__en` → `en`), for `languageFilter({ identify })`. */
  identifier(): LanguageIdentifier {
    return (text) => {
      const [best] = this.predict(text, 1);
      return best ? { language: best.label, score: Math.min(1, best.probability) } : { language: 'und', score: 0 };
    };
  }
}

/** Loads a fastText supervised model file (`.bin` or quantized `.ftz`, e.g. `lid.176.bin`). */
export async function loadFastTextModel(path: string): Promise<FastTextModel> {
  // Node's file system on first use: the rest of the model (fromBytes) runs in browsers.
  const { readFile } = await import('node:fs/promises');
  return FastTextModel.fromBytes(await readFile(path), path);
}
