import { ConfigError } from './config.js';

/** Constraints of {@link parseNumberFlag}. */
export interface NumberFlagRule {
  integer?: boolean;
  min?: number;
  max?: number;
  /** `min` itself is not allowed. */
  exclusiveMin?: boolean;
}

/** Parses a numeric flag value, throwing a {@link ConfigError} that names the flag and the bad value. */
export function parseNumberFlag(flag: string, value: string, rule: NumberFlagRule = {}): number {
  const n = value.trim() === '' ? Number.NaN : Number(value);
  const kind = rule.integer ? 'an integer' : 'a number';
  const range =
    rule.min === undefined && rule.max === undefined
      ? ''
      : ` ${rule.min === undefined ? '' : `${rule.exclusiveMin ? '>' : '>='} ${rule.min}`}` +
        `${rule.min !== undefined && rule.max !== undefined ? ' and ' : ''}${rule.max === undefined ? '' : `<= ${rule.max}`}`;
  const bad =
    !Number.isFinite(n) ||
    (rule.integer && !Number.isInteger(n)) ||
    (rule.min !== undefined && (rule.exclusiveMin ? n <= rule.min : n < rule.min)) ||
    (rule.max !== undefined && n > rule.max);
  if (bad) throw new ConfigError(`flag ${flag}: expected ${kind}${range}, got ${JSON.stringify(value)}`);
  return n;
}
