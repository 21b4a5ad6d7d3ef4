// Finds the code blocks of the Markdown guides, so tests can run them as written.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One fenced code block of a guide. */
export interface CodeBlock {
  /** `docs/guides/x.md:LINE` of the opening fence, for failure messages. */
  where: string;
  /** The fence's language (`ts`, `sh`, …). */
  lang: string;
  /** Words after the language, e.g. `no-run: why` (a block that must not run, with its reason). */
  info: string;
  code: string;
}

/** Every fenced block of the Markdown files in `dir` (`label` prefixes the file names in `where`). */
export function codeBlocks(dir: string, label: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()) {
    const lines = readFileSync(join(dir, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(\w+)\s*(.*)$/.exec(lines[i]!);
      if (!open) continue;
      const start = i;
      const body: string[] = [];
      for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
      if (i === lines.length) throw new Error(`${label}/${file}:${start + 1}: code block never closed`);
      blocks.push({
        where: `${label}/${file}:${start + 1}`,
        lang: open[1]!,
        info: open[2]!.trim(),
        code: body.join('\n'),
      });
    }
  }
  return blocks;
}
