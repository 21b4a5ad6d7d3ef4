import { type DocumentFilter, textFilter } from './document-filter.js';

/** A user macro: `\name` with `args` arguments (the first optional, with `optional` as default, when given). */
export interface LatexMacro {
  /** Number of arguments `#1…#n`. */
  args: number;
  /** Default of an optional first argument (`\newcommand{\x}[2][def]{…}`). */
  optional?: string;
  /** Replacement text. */
  body: string;
}

/**
 * Removes `%` comments: from an unescaped `%` (preceded by an even number of backslashes, so `\%` stays and
 * `\\%` starts a comment) to the end of the line; a line that was only a comment disappears.
 */
export function stripLatexComments(tex: string): string {
  const out: string[] = [];
  for (const line of tex.split('\n')) {
    let cut = -1;
    for (let i = 0; i < line.length; i++) {
      if (line[i] !== '%') continue;
      let slashes = 0;
      for (let j = i - 1; j >= 0 && line[j] === '\\'; j--) slashes++;
      if (slashes % 2 === 0) {
        cut = i;
        break;
      }
    }
    if (cut < 0) out.push(line);
    else if (line.slice(0, cut).trim() !== '') out.push(line.slice(0, cut));
  }
  return out.join('\n');
}

/** The balanced `{…}` group starting at `i` (which must be `{`): its inner text and the index after it. */
function braceGroup(tex: string, i: number): { inner: string; end: number } | null {
  if (tex[i] !== '{') return null;
  let depth = 0;
  for (let j = i; j < tex.length; j++) {
    if (tex[j] === '\\') {
      j++;
      continue;
    }
    if (tex[j] === '{') depth++;
    else if (tex[j] === '}' && --depth === 0) return { inner: tex.slice(i + 1, j), end: j + 1 };
  }
  return null;
}

function skipSpaces(tex: string, i: number): number {
  while (i < tex.length && /\s/.test(tex[i]!)) i++;
  return i;
}

/** One macro argument at `i`: a brace group, or a single token (`\cmd` or one character). */
function argument(tex: string, i: number): { inner: string; end: number } {
  i = skipSpaces(tex, i);
  const group = braceGroup(tex, i);
  if (group) return group;
  const cmd = /^\\[a-zA-Z]+/.exec(tex.slice(i, i + 64));
  const len = cmd ? cmd[0].length : 1;
  return { inner: tex.slice(i, i + len), end: i + len };
}

/**
 * Collects `\newcommand`, `\renewcommand`, `\providecommand` (with `[n]` arguments and an optional `[default]`) and
 * `\def\name#1#2{…}` definitions, and returns the macros with the text where the definitions were removed.
 */
export function extractLatexMacros(tex: string): { macros: Map<string, LatexMacro>; text: string } {
  const macros = new Map<string, LatexMacro>();
  let text = '';
  const definition = /\\(?:(?:re)?newcommand|providecommand)\*?\s*|\\def\s*(?=\\)/g;
  let last = 0;
  for (let m = definition.exec(tex); m !== null; m = definition.exec(tex)) {
    let i = m.index + m[0].length;
    const isDef = m[0].startsWith('\\def');
    let name: string;
    const braced = braceGroup(tex, i);
    if (braced && !isDef) {
      name = braced.inner.trim();
      i = braced.end;
    } else {
      const cmd = /^\\[a-zA-Z]+/.exec(tex.slice(i));
      if (!cmd) continue;
      name = cmd[0];
      i += cmd[0].length;
    }
    let args = 0;
    let optional: string | undefined;
    if (isDef) {
      const params = /^(?:#\d)+/.exec(tex.slice(i));
      if (params) {
        args = params[0].length / 2;
        i += params[0].length;
      }
    } else {
      i = skipSpaces(tex, i);
      const count = /^\[(\d)\]/.exec(tex.slice(i));
      if (count) {
        args = Number(count[1]);
        i = skipSpaces(tex, i + count[0].length);
        const opt = /^\[([^\]]*)\]/.exec(tex.slice(i));
        if (opt) {
          optional = opt[1];
          i += opt[0].length;
        }
      }
    }
    const body = braceGroup(tex, skipSpaces(tex, i));
    if (!body || !/^\\[a-zA-Z]+$/.test(name)) continue;
    macros.set(name.slice(1), { args, optional, body: body.inner });
    text += tex.slice(last, m.index);
    last = body.end;
    definition.lastIndex = body.end;
  }
  text += tex.slice(last);
  return { macros, text };
}

/** Replaces every use of the macros by its body with arguments substituted, repeating for nested macros (≤ 10 rounds). */
export function expandLatexMacros(tex: string, macros: Map<string, LatexMacro>): string {
  if (macros.size === 0) return tex;
  for (let round = 0; round < 10; round++) {
    let changed = false;
    let out = '';
    let i = 0;
    const use = /\\([a-zA-Z]+)/g;
    for (let m = use.exec(tex); m !== null; m = use.exec(tex)) {
      const macro = macros.get(m[1]!);
      if (!macro) continue;
      let j = m.index + m[0].length;
      const values: string[] = [];
      for (let a = 0; a < macro.args; a++) {
        if (a === 0 && macro.optional !== undefined) {
          const k = skipSpaces(tex, j);
          const opt = tex[k] === '[' ? /^\[([^\]]*)\]/.exec(tex.slice(k)) : null;
          values.push(opt ? opt[1]! : macro.optional);
          if (opt) j = k + opt[0].length;
          continue;
        }
        const arg = argument(tex, j);
        values.push(arg.inner);
        j = arg.end;
      }
      out += tex.slice(i, m.index) + macro.body.replace(/#(\d)/g, (_, d: string) => values[Number(d) - 1] ?? '');
      i = j;
      use.lastIndex = j;
      changed = true;
    }
    tex = out + tex.slice(i);
    if (!changed) break;
  }
  return tex;
}

/**
 * LLaMA's ArXiv cleaning (§2, after Lewkowycz et al. 2022): comments stripped, user macros (`\newcommand`, `\def`)
 * inline-expanded, everything before the first `\section` dropped (a paper without one is dropped), and the
 * bibliography (`thebibliography` environment, `\bibliography{…}`, `\bibliographystyle{…}`) and `\end{document}`
 * removed. Returns the cleaned LaTeX or null.
 */
export function cleanArxivLatex(tex: string): string | null {
  const { macros, text } = extractLatexMacros(stripLatexComments(tex));
  const first = text.search(/\\section\*?\s*[{[]/);
  if (first < 0) return null;
  let body = text.slice(first);
  body = body
    .replace(/\\begin\{thebibliography\}[\s\S]*?(?:\\end\{thebibliography\}|$)/g, '')
    .replace(/\\bibliography(?:style)?\{[^}]*\}/g, '')
    .replace(/\\end\{document\}[\s\S]*$/, '');
  return expandLatexMacros(body, macros)
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** {@link cleanArxivLatex} as a filter. */
export function arxivFilter(): DocumentFilter {
  return textFilter('arxiv', (text) => cleanArxivLatex(text));
}
