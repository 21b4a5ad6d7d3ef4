import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';

const magic = /[*?[{]/;

/**
 * Converts a glob pattern to an anchored regular expression over `/`-separated relative paths.
 * Supports `*` (within one path segment), `**` (any number of segments), `?`, `[abc]`/`[!abc]`
 * character classes and `{a,b}` alternatives. Wildcards never match a segment starting with `.`.
 */
export function globToRegExp(pattern: string): RegExp {
  let out = '';
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    const segmentStart = i === 0 || pattern[i - 1] === '/';
    if (ch === '*' && pattern[i + 1] === '*') {
      const slashAfter = pattern[i + 2] === '/';
      out += slashAfter ? '(?:(?!\\.)[^/]*/)*' : '(?:(?!\\.)[^/]*(?:/(?!\\.)[^/]*)*)?';
      i += slashAfter ? 2 : 1;
    } else if (ch === '*') {
      out += (segmentStart ? '(?!\\.)' : '') + '[^/]*';
    } else if (ch === '?') {
      out += '[^/]';
    } else if (ch === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) throw new Error(`glob: unclosed '[' in pattern ${JSON.stringify(pattern)}`);
      let body = pattern.slice(i + 1, close);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      out += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = close;
    } else if (ch === '{') {
      braces++;
      out += '(?:';
    } else if (ch === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (ch === ',' && braces > 0) {
      out += '|';
    } else {
      out += ch.replace(/[.+^$()|\\]/g, '\\$&');
    }
  }
  if (braces > 0) throw new Error(`glob: unclosed '{' in pattern ${JSON.stringify(pattern)}`);
  return new RegExp('^' + out + '$');
}

/** Whether `path` contains glob syntax. */
export function isGlobPattern(path: string): boolean {
  return magic.test(path);
}

/**
 * Lists the files matching `pattern` (absolute, or relative to `cwd`), sorted by path so every run
 * sees the same order. Only the directory below the pattern's literal prefix is walked.
 */
export async function expandGlob(pattern: string, cwd = process.cwd()): Promise<string[]> {
  const segments = resolve(cwd, pattern).split(sep).join('/').split('/');
  const firstMagic = segments.findIndex((s) => magic.test(s));
  if (firstMagic < 0) {
    const path = segments.join('/');
    return (await stat(path).catch(() => null))?.isFile() ? [path] : [];
  }
  const base = segments.slice(0, firstMagic).join('/') || '/';
  const matcher = globToRegExp(segments.slice(firstMagic).join('/'));
  return (await listFilesRecursive(base)).filter((file) => matcher.test(relative(base, file).split(sep).join('/')));
}

/** All regular files below `dir` (following no symlinks to directories), sorted. */
export async function listFilesRecursive(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
  const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  return files.sort();
}
