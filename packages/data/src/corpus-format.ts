/** How a corpus file is stored, decided by its name. */
export type CorpusFormat = 'text' | 'jsonl' | 'jsonl.gz' | 'jsonl.zst' | 'parquet' | 'shard';

/**
 * The format of a corpus file from its extension: `.jsonl`/`.ndjson` → `jsonl`; the same or `.json` followed by
 * `.gz` → `jsonl.gz` (C4 ships JSON Lines as `.json.gz`); followed by `.zst`/`.zstd` → `jsonl.zst` (RedPajama,
 * SlimPajama); `.parquet` → `parquet`; `.tok` → `shard` (a pre-tokenized shard, see SHARDS.md); anything else → `text`.
 */
export function corpusFormatOf(path: string): CorpusFormat {
  const name = path.toLowerCase();
  if (name.endsWith('.parquet')) return 'parquet';
  if (name.endsWith('.tok')) return 'shard';
  if (/\.(jsonl|ndjson|json)\.gz$/.test(name)) return 'jsonl.gz';
  if (/\.(jsonl|ndjson|json)\.zstd?$/.test(name)) return 'jsonl.zst';
  if (/\.(jsonl|ndjson)$/.test(name)) return 'jsonl';
  return 'text';
}

/** Whether documents of this format are addressed by record index (compressed, columnar) rather than byte offset. */
export function isRecordIndexed(format: CorpusFormat): boolean {
  return format === 'jsonl.gz' || format === 'jsonl.zst' || format === 'parquet';
}
