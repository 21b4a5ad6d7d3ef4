import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { filterDawnWarnings, isDawnLimitWarning } from './dawn-warnings.js';

const UNIFORM =
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.';
const STORAGE =
  'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.';

describe('Dawn warning filter', () => {
  it("recognises exactly Dawn's two limit warnings", () => {
    expect(isDawnLimitWarning(UNIFORM)).toBe(true);
    expect(isDawnLimitWarning(`${STORAGE}\r`)).toBe(true);
    expect(isDawnLimitWarning('Warning: something else artificially reduced')).toBe(false);
    expect(isDawnLimitWarning(`error: ${UNIFORM}`)).toBe(false);
    expect(isDawnLimitWarning('Error: Dawn device lost')).toBe(false);
  });

  it('drops them from a stream split at awkward places and keeps every other byte in order', async () => {
    const source = new PassThrough();
    const sink = new PassThrough();
    let out = '';
    sink.on('data', (d) => {
      out += d;
    });
    const done = filterDawnWarnings(source, sink);
    const text = `${UNIFORM}\n${STORAGE}\nandes-train: real error (fix it)\nWarning: a real Dawn warning\nno newline at end`;
    for (let i = 0; i < text.length; i += 7) source.write(text.slice(i, i + 7));
    source.end();
    await done;
    expect(out).toBe('andes-train: real error (fix it)\nWarning: a real Dawn warning\nno newline at end');
  });
});
