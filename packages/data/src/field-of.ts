/** Reads `field` (a dotted path) of a parsed record. Its own module so browser-safe code can use it without the readers. */
export function fieldOf(record: unknown, field: string): unknown {
  let value = record;
  for (const key of field.split('.')) {
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}
