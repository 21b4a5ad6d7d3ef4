/**
 * Dawn's adapter warnings, kept out of users' terminals.
 *
 * On drivers that report huge dynamic-buffer limits (Mesa's lavapipe reports 1,000,000), Dawn's Vulkan backend
 * prints two lines while it enumerates adapters — `Warning: maxDynamicUniformBuffersPerPipelineLayout artificially
 * reduced from 1000000 to 16 …` — straight to file descriptor 2 from native code. No Dawn toggle, `create()` option,
 * adapter or device limit avoids them (they are printed before any limit is requested), and Node cannot point
 * descriptor 2 elsewhere for the duration of a call. So the bins run the CLI in a child process whose descriptor 2 is
 * a pipe, and drop exactly these lines from it: anything else, including Dawn's real errors, passes through.
 *
 * @module
 */
import type { Readable, Writable } from 'node:stream';

// Exactly Dawn's wording (src/dawn/native/vulkan/PhysicalDeviceVk.cpp); anything else is not ours to hide.
const DAWN_LIMIT_WARNING =
  /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

/** Whether `line` (without its newline) is one of Dawn's two harmless limit warnings. */
export function isDawnLimitWarning(line: string): boolean {
  return DAWN_LIMIT_WARNING.test(line.replace(/\r$/, ''));
}

/**
 * Copies `source` to `sink` line by line, dropping Dawn's limit warnings. Resolves when `source` ends (a last line
 * without a newline is copied too). Lines pass as soon as they are complete, so progress and logs stay live.
 */
export function filterDawnWarnings(source: Readable, sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending = '';
    source.setEncoding('utf8');
    source.on('data', (chunk: string) => {
      pending += chunk;
      let out = '';
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        if (!isDawnLimitWarning(line)) out += `${line}\n`;
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
      if (out !== '') sink.write(out);
    });
    source.on('error', reject);
    source.on('end', () => {
      if (pending !== '' && !isDawnLimitWarning(pending)) sink.write(pending);
      resolve();
    });
  });
}
