// Training-time pre-tokenization: normalised text (spaces as '▁', dummy prefix) split into the
// "words" merges may not cross. The rules keep every learned piece in the shape `▁*` or `▁?X` with
// no '▁' inside X, so the encoder's per-chunk cache stays exact on trained models:
//   - a word starts at each '▁' that follows a non-'▁'; a run of k > 1 '▁' gives a whitespace-only
//     word of k-1 '▁' (indentation) and the last '▁' opens the next word;
//   - letters/marks, numbers and other characters never share a word (like sentencepiece's
//     split_by_unicode_script / split_by_number), a leading '▁' stays with what follows;
//   - with splitDigits each digit is a word of its own (the '▁' before it is its own word too);
//   - line breaks, tabs and other control characters are words of their own.

const SPACE = 0x2581;

enum CharClass {
  Space = 0,
  Letter = 1,
  Number = 2,
  Other = 3,
  Isolated = 4,
}

const letterRe = /[\p{L}\p{M}]/u;
const numberRe = /\p{N}/u;
const controlRe = /[\p{Cc}\p{Zl}\p{Zp}]/u;

const classCache = new Map<number, CharClass>();

function classify(cp: number, splitDigits: boolean): CharClass {
  if (cp === SPACE) return CharClass.Space;
  if (cp < 128) {
    if ((cp >= 0x61 && cp <= 0x7a) || (cp >= 0x41 && cp <= 0x5a)) return CharClass.Letter;
    if (cp >= 0x30 && cp <= 0x39) return splitDigits ? CharClass.Isolated : CharClass.Number;
    if (cp < 0x20 || cp === 0x7f) return CharClass.Isolated;
    return CharClass.Other;
  }
  let c = classCache.get(cp);
  if (c === undefined) {
    const ch = String.fromCodePoint(cp);
    c = letterRe.test(ch)
      ? CharClass.Letter
      : numberRe.test(ch)
        ? CharClass.Number
        : controlRe.test(ch)
          ? CharClass.Isolated
          : CharClass.Other;
    classCache.set(cp, c);
  }
  return c === CharClass.Number && splitDigits && /\p{Nd}/u.test(String.fromCodePoint(cp)) ? CharClass.Isolated : c;
}

/** Calls `emit(word)` for each training word of normalised text `s`. */
export function forEachTrainingWord(s: string, splitDigits: boolean, emit: (word: string) => void): void {
  let start = 0; // start of the current word
  let cls = -1; // class of the current word's non-space content, -1 while only '▁' so far
  let i = 0;
  while (i < s.length) {
    const cp = s.codePointAt(i)!;
    const w = cp > 0xffff ? 2 : 1;
    const c = classify(cp, splitDigits);
    if (c === CharClass.Space) {
      if (cls !== -1) {
        emit(s.slice(start, i));
        start = i;
        cls = -1;
      } else if (i > start) {
        // A run of '▁': all but the last form a whitespace-only word.
        let end = i;
        while (end + 1 < s.length && s.charCodeAt(end + 1) === SPACE) end++;
        if (end > i) {
          emit(s.slice(start, end));
          start = end;
          i = end;
        }
      }
      i += w;
      continue;
    }
    const isolated = c === CharClass.Isolated;
    if (cls === -1) {
      if (isolated && i > start) {
        emit(s.slice(start, i));
        start = i;
      }
      cls = c;
    } else if (c !== cls || isolated || cls === CharClass.Isolated) {
      emit(s.slice(start, i));
      start = i;
      cls = c;
    }
    i += w;
  }
  if (i > start) emit(s.slice(start, i));
}
