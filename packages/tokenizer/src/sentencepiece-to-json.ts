// Converts a SentencePiece BPE model to a Hugging Face `tokenizer.json` the way
// `transformers`' LlamaConverter does: merges are every split of a piece into two pieces, ordered by
// the merged piece's score (then the left and right ids), control/unknown pieces as added tokens.
import { type ModelProto, PieceType } from './model-proto.js';
import { SPACE_SYMBOL } from './sentencepiece-normalizer.js';

/**
 * What the converter reads of a SentencePiece tokenizer. SentencePieceTokenizer has it and calls the converter, so
 * naming the class here (even as a type) would close an import cycle.
 */
export interface SentencePieceJsonSource {
  /** The parsed `tokenizer.model`. */
  readonly model: ModelProto;
  /** Beginning-of-sequence id, or -1. */
  readonly bosId: number;
  /** Unknown-token id, or -1. */
  readonly unkId: number;
}

/** Builds the `tokenizer.json` text for `tok`. */
export function sentencePieceToTokenizerJson(tok: SentencePieceJsonSource): string {
  const pieces = tok.model.pieces;
  const vocab: Record<string, number> = {};
  const ids = new Map<string, number>();
  pieces.forEach((p, id) => {
    if (!ids.has(p.piece)) ids.set(p.piece, id);
    vocab[p.piece] = id;
  });
  const merges: [number, number, number][] = [];
  pieces.forEach((p, id) => {
    if (p.type !== PieceType.normal && p.type !== PieceType.userDefined) return;
    const cps = Array.from(p.piece);
    let prefix = '';
    for (let k = 1; k < cps.length; k++) {
      prefix += cps[k - 1];
      const a = ids.get(prefix);
      const b = ids.get(p.piece.slice(prefix.length));
      if (a !== undefined && b !== undefined) merges.push([id, a, b]);
    }
  });
  merges.sort((x, y) => pieces[y[0]]!.score - pieces[x[0]]!.score || x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
  const added = pieces.flatMap((p, id) =>
    p.type === PieceType.control || p.type === PieceType.unknown || p.type === PieceType.userDefined
      ? [
          {
            id,
            content: p.piece,
            single_word: false,
            lstrip: false,
            rstrip: false,
            normalized: p.type === PieceType.userDefined,
            special: p.type !== PieceType.userDefined,
          },
        ]
      : [],
  );
  const ns = tok.model.normalizerSpec;
  const normalizers: unknown[] = [];
  if (ns.addDummyPrefix) normalizers.push({ type: 'Prepend', prepend: SPACE_SYMBOL });
  if (ns.escapeWhitespaces) normalizers.push({ type: 'Replace', pattern: { String: ' ' }, content: SPACE_SYMBOL });
  const bos = tok.bosId >= 0 ? pieces[tok.bosId]!.piece : null;
  const single: unknown[] = [];
  if (bos) single.push({ SpecialToken: { id: bos, type_id: 0 } });
  single.push({ Sequence: { id: 'A', type_id: 0 } });
  const decoders: unknown[] = [
    { type: 'Replace', pattern: { String: SPACE_SYMBOL }, content: ' ' },
    { type: 'ByteFallback' },
    { type: 'Fuse' },
  ];
  if (ns.addDummyPrefix) decoders.push({ type: 'Strip', content: ' ', start: 1, stop: 0 });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: normalizers.length ? { type: 'Sequence', normalizers } : null,
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single,
      pair: [
        ...single,
        ...single.map((s) => (JSON.stringify(s).includes('"A"') ? { Sequence: { id: 'B', type_id: 1 } } : s)),
      ],
      special_tokens: bos ? { [bos]: { id: bos, ids: [tok.bosId], tokens: [bos] } } : {},
    },
    decoder: { type: 'Sequence', decoders },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: tok.unkId >= 0 ? pieces[tok.unkId]!.piece : null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: tok.model.trainerSpec.byteFallback,
      ignore_merges: false,
      vocab,
      merges: merges.map(([, a, b]) => [pieces[a]!.piece, pieces[b]!.piece]),
    },
  };
  return JSON.stringify(json, null, 1);
}
