import { fieldOf } from '../field-of.js';
import { type DocumentFilter, textFilter } from './document-filter.js';

/** Options of {@link cleanGitHubFile} (defaults follow LLaMA §2 and RedPajama's GitHub recipe). */
export interface GitHubOptions {
  /** Record field (dotted path) holding the license id(s): a string or an array of strings; default `meta.license`. */
  licenseField?: string;
  /** Licenses kept (case-insensitive SPDX ids); default Apache-2.0, BSD-2/3-Clause, MIT. Files with another or no license are dropped. */
  licenses?: readonly string[];
  /** A file with a longer line is dropped; default 1000 characters. */
  maxLineLength?: number;
  /** A file whose mean line length is above this is dropped; default 100. */
  maxMeanLineLength?: number;
  /** A file with a smaller fraction of alphanumeric characters is dropped; default 0.25. */
  minAlphanumericFraction?: number;
}

/** LLaMA kept "projects that are distributed under the Apache, BSD and MIT licenses". */
export const permissiveLicenses = ['apache-2.0', 'bsd-2-clause', 'bsd-3-clause', 'mit'];

/** Leading comment blocks that are license or copyright boilerplate. */
const boilerplate = /^(?:\s*(?:\/\*[\s\S]*?\*\/|(?:(?:\/\/|#)[^\n]*\n)+))/;

/**
 * Removes a license/copyright header: a leading block comment (or run of `//` or `#` comment lines) that mentions
 * "copyright" or "license". A `#!` line before it is kept.
 */
export function stripLicenseHeader(text: string): string {
  const shebang = text.startsWith('#!') ? text.slice(0, text.indexOf('\n') + 1 || text.length) : '';
  const rest = text.slice(shebang.length);
  const header = boilerplate.exec(rest);
  if (header === null || !/copyright|licen[cs]e/i.test(header[0])) return text;
  return shebang + rest.slice(header[0].length).replace(/^\s*\n/, '');
}

/**
 * LLaMA's GitHub cleaning: keep files of permissively licensed projects (license from the record's metadata), drop
 * low-quality files by line length (max and mean) and alphanumeric fraction, and strip license headers.
 * Returns the kept text or null.
 */
export function cleanGitHubFile(
  text: string,
  meta: Record<string, unknown>,
  options: GitHubOptions = {},
): string | null {
  const field = options.licenseField ?? 'meta.license';
  const allowed = new Set((options.licenses ?? permissiveLicenses).map((l) => l.toLowerCase()));
  const license = fieldOf(meta, field);
  const ids = (Array.isArray(license) ? license : [license]).filter((l): l is string => typeof l === 'string');
  if (ids.length === 0 || !ids.some((l) => allowed.has(l.toLowerCase()))) return null;
  const lines = text.split('\n');
  const maxLine = lines.reduce((m, l) => Math.max(m, l.length), 0);
  if (maxLine > (options.maxLineLength ?? 1000)) return null;
  if (text.length / lines.length > (options.maxMeanLineLength ?? 100)) return null;
  const alnum = (text.match(/[\p{L}\p{N}]/gu) ?? []).length;
  if (text.length === 0 || alnum / text.length < (options.minAlphanumericFraction ?? 0.25)) return null;
  return stripLicenseHeader(text);
}

/** {@link cleanGitHubFile} as a filter. */
export function githubFilter(options: GitHubOptions = {}): DocumentFilter {
  return textFilter('github', (text, meta) => cleanGitHubFile(text, meta, options));
}
