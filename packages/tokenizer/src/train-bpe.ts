// SentencePiece-style BPE training. Words are counted once (train-words.ts), then merges are found
// with incremental pair counts: each pair keeps its count and the word types it occurs in, a
// max-heap of (count, pair) is fixed lazily on pop, and a merge only revisits the words that
// contain the merged pair. The result is a `tokenizer.model` google's sentencepiece loads as is.
import { ModelType, PieceType, type SentencePieceEntry } from './model-proto.js';
import { PairHeap } from './pair-heap.js';
import { SentencePieceNormalizer } from './sentencepiece-normalizer.js';
import { SentencePieceTokenizer } from './sentencepiece-tokenizer.js';
import { forEachTrainingWord } from './train-words.js';

/** Options for {@link trainBpe}. */
export interface TrainBpeOptions {
  /** Total vocabulary size: unk/bos/eos, special tokens, 256 byte pieces, characters and merges. */
  vocabSize: number;
  /** Add `<0x00>`…`<0xFF>` pieces so characters outside the vocabulary encode as bytes. Default true. */
  byteFallback?: boolean;
  /** Never merge digits: each digit stays its own piece, as in LLaMA. Default true. */
  splitDigits?: boolean;
  /** Extra CONTROL pieces (e.g. `'<|im_start|>'`), placed after `</s>`; decode skips them. Default []. */
  specialTokens?: readonly string[];
  /** Fraction of character occurrences the character vocabulary must cover. Default 0.9995 (byte fallback) or 1. */
  characterCoverage?: number;
  /** Longest piece in characters. Default 16 (sentencepiece's default). */
  maxPieceLength?: number;
  /** Corpus items are file paths (Node) read line by line, not texts. Default false. */
  inputIsFilePaths?: boolean;
}

const PAIR_SHIFT = 2 ** 21;

async function countWords(
  corpus: Iterable<string> | AsyncIterable<string>,
  options: TrainBpeOptions,
  normalizer: SentencePieceNormalizer,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const splitDigits = options.splitDigits ?? true;
  const add = (text: string) => {
    forEachTrainingWord(normalizer.normalize(text), splitDigits, (w) => {
      counts.set(w, (counts.get(w) ?? 0) + 1);
    });
  };
  if (options.inputIsFilePaths) {
    const { readLines } = await import('./node.js');
    for await (const path of corpus) for await (const line of readLines(path)) add(line);
  } else {
    for await (const text of corpus) add(text);
  }
  return counts;
}

/**
 * Learns a SentencePiece BPE model (LLaMA layout: `<unk>`, `<s>`, `</s>`, special tokens, byte
 * pieces, merged pieces by decreasing score, then single characters) from texts or file paths.
 * Deterministic: the same corpus and options give the same model.
 *
 * @example
 * const tok = await trainBpe(['some text', 'more text'], { vocabSize: 300 });
 * await tok.save('out/tokenizer.model', writeFile); // writeFile from node:fs/promises, or an atomic writer
 */
export async function trainBpe(
  corpus: Iterable<string> | AsyncIterable<string>,
  options: TrainBpeOptions,
): Promise<SentencePieceTokenizer> {
  const byteFallback = options.byteFallback ?? true;
  const specials = options.specialTokens ?? [];
  const maxLen = options.maxPieceLength ?? 16;
  const normalizerSpec = {
    name: 'identity',
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: false,
    escapeWhitespaces: true,
  };
  const counts = await countWords(corpus, options, new SentencePieceNormalizer(normalizerSpec, false));

  // Characters by frequency (ties by code point), kept until the coverage is reached.
  const charCounts = new Map<string, number>();
  for (const [w, n] of counts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + n);
  charCounts.set('\u2581', (charCounts.get('\u2581') ?? 0) + 1);
  const chars = [...charCounts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const total = chars.reduce((s, [, n]) => s + n, 0);
  const coverage = options.characterCoverage ?? (byteFallback ? 0.9995 : 1);
  let kept = 0;
  let covered = 0;
  while (kept < chars.length && (covered < coverage * total || chars[kept]![0] === '\u2581'))
    covered += chars[kept++]![1];
  const fixed = 3 + specials.length + (byteFallback ? 256 : 0);
  // With byte fallback, rare characters cost nothing to drop: keep at most half the free budget
  // for single characters so merges are still learned on corpora with huge alphabets.
  if (byteFallback) kept = Math.max(1, Math.min(kept, Math.floor((options.vocabSize - fixed) / 2)));
  const alphabet = chars.slice(0, kept).map(([ch]) => ch);
  if (!alphabet.includes('\u2581')) alphabet[alphabet.length - 1] = '\u2581';

  const mergeBudget = options.vocabSize - fixed - alphabet.length;
  if (mergeBudget < 0) {
    throw new Error(
      `trainBpe: vocabSize ${options.vocabSize} is too small: ${fixed} fixed pieces + ${alphabet.length} characters needed`,
    );
  }

  // Symbols: 0..alphabet-1 are characters, then one per merge. -1 marks an uncovered character.
  const symbolText: string[] = alphabet.slice();
  const symbolLen: number[] = alphabet.map(() => 1);
  const charId = new Map(alphabet.map((ch, i) => [ch, i]));
  const words: Int32Array[] = [];
  const freq: number[] = [];
  for (const [w, n] of counts) {
    const syms = Array.from(w, (ch) => charId.get(ch) ?? -1);
    if (syms.length < 2) continue;
    words.push(Int32Array.from(syms));
    freq.push(n);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  const heap = new PairHeap();
  const addPairs = (wi: number, sign: number, collect: Set<number> | null) => {
    const syms = words[wi]!;
    const n = freq[wi]! * sign;
    for (let i = 0; i + 1 < syms.length; i++) {
      const a = syms[i]!;
      const b = syms[i + 1]!;
      if (a < 0 || b < 0) continue;
      const key = a * PAIR_SHIFT + b;
      pairCount.set(key, (pairCount.get(key) ?? 0) + n);
      if (collect) {
        let list = pairWords.get(key);
        if (!list) pairWords.set(key, (list = []));
        if (list[list.length - 1] !== wi) list.push(wi);
        collect.add(key);
      }
    }
  };
  const touched = new Set<number>();
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1, touched);
  for (const key of touched) heap.push(pairCount.get(key)!, key);

  const merges: string[] = [];
  const visited = new Int32Array(words.length).fill(-1);
  // Texts a merge may not produce: reserved pieces, and pieces that already exist (two merge paths
  // to one string, e.g. "ab"+"c" and "a"+"bc", share one symbol).
  const reserved = new Set(['<unk>', '<s>', '</s>', ...specials]);
  for (let b = 0; b < 256; b++) reserved.add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const symbolOf = new Map(symbolText.map((t, i) => [t, i]));
  let step = 0;
  while (merges.length < mergeBudget && heap.size > 0) {
    const [count, key] = heap.pop();
    const current = pairCount.get(key) ?? 0;
    if (current !== count) {
      if (current > 0) heap.push(current, key);
      continue;
    }
    if (count <= 0) break;
    const a = Math.floor(key / PAIR_SHIFT);
    const b = key - a * PAIR_SHIFT;
    const text = symbolText[a]! + symbolText[b]!;
    if (symbolLen[a]! + symbolLen[b]! > maxLen || reserved.has(text)) {
      pairCount.delete(key);
      continue;
    }
    let c = symbolOf.get(text);
    if (c === undefined) {
      c = symbolText.length;
      symbolText.push(text);
      symbolLen.push(symbolLen[a]! + symbolLen[b]!);
      symbolOf.set(text, c);
      merges.push(text);
    }
    step++;
    touched.clear();
    for (const wi of pairWords.get(key) ?? []) {
      if (visited[wi] === step) continue;
      visited[wi] = step;
      const syms = words[wi]!;
      let has = false;
      for (let i = 0; i + 1 < syms.length; i++) if (syms[i] === a && syms[i + 1] === b) has = true;
      if (!has) continue;
      addPairs(wi, -1, null);
      const out: number[] = [];
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
          out.push(c);
          i++;
        } else out.push(syms[i]!);
      }
      words[wi] = Int32Array.from(out);
      addPairs(wi, 1, touched);
    }
    pairCount.delete(key);
    pairWords.delete(key);
    for (const k of touched) {
      const ka = Math.floor(k / PAIR_SHIFT);
      if (ka === c || k - ka * PAIR_SHIFT === c) heap.push(pairCount.get(k)!, k);
    }
  }

  const pieces: SentencePieceEntry[] = [
    { piece: '<unk>', score: 0, type: PieceType.unknown },
    { piece: '<s>', score: 0, type: PieceType.control },
    { piece: '</s>', score: 0, type: PieceType.control },
    ...specials.map((piece) => ({ piece, score: 0, type: PieceType.control })),
  ];
  if (byteFallback) {
    for (let b = 0; b < 256; b++) {
      pieces.push({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, score: 0, type: PieceType.byte });
    }
  }
  let score = 0;
  for (const m of merges) pieces.push({ piece: m, score: score--, type: PieceType.normal });
  for (const ch of alphabet) pieces.push({ piece: ch, score: score--, type: PieceType.normal });
  return new SentencePieceTokenizer({
    pieces,
    trainerSpec: {
      modelType: ModelType.bpe,
      vocabSize: pieces.length,
      byteFallback,
      splitDigits: options.splitDigits ?? true,
      treatWhitespaceAsSuffix: false,
      unkId: 0,
      bosId: 1,
      eosId: 2,
      padId: -1,
      unkSurface: ' \u2047 ',
    },
    normalizerSpec,
    raw: {},
  });
}
