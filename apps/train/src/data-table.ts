/**
 * The data table of `andes-train plan --manifest`: per source, tokens after cleaning, the tokens a budget draws and
 * the epochs that means, with warnings where a source repeats more than the LLaMA paper let it.
 *
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { planSourceEpochs, planSourcesFromManifest, type SourceEpochPlan } from '@andes/data';
import { parseShardManifest, type ShardManifest } from '@andes/data/node';
import { ConfigError } from './config.js';
import { formatCount } from './plan.js';

/** Reads a shard manifest from a file or a shard directory (its `manifest.json`). */
export function readManifestSync(path: string): ShardManifest {
  let file = path;
  try {
    if (statSync(path).isDirectory()) file = join(path, 'manifest.json');
    return parseShardManifest(JSON.parse(readFileSync(file, 'utf8')), file);
  } catch (err) {
    throw new ConfigError(`--manifest ${path}: ${(err as Error).message}`);
  }
}

/** The data plan of a manifest for a token budget (BOS/EOS counted as the loader adds them). */
export function dataPlan(manifest: ShardManifest, tokenBudget: number): SourceEpochPlan[] {
  const special = (manifest.tokenizer.bosId >= 0 ? 1 : 0) + (manifest.tokenizer.eosId >= 0 ? 1 : 0);
  return planSourceEpochs(planSourcesFromManifest(manifest), tokenBudget, special);
}

/** Renders the data table and its warnings. */
export function formatDataTable(rows: readonly SourceEpochPlan[], tokenBudget: number): string {
  const header = ['source', 'share', 'tokens', 'drawn', 'epochs', 'paper'];
  const body = rows.map((r) => [
    r.name,
    `${(100 * r.share).toFixed(1)}%`,
    formatCount(r.tokensAvailable),
    formatCount(r.tokensDrawn),
    Number.isFinite(r.epochs) ? r.epochs.toFixed(2) : '∞',
    r.paperEpochs === undefined ? '–' : r.paperEpochs.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
  const out = [`data for ${formatCount(tokenBudget)} training tokens:`, line(header), ...body.map(line)];
  for (const r of rows) if (r.warning) out.push(`  warning: ${r.name} ${r.warning}`);
  return out.join('\n');
}
