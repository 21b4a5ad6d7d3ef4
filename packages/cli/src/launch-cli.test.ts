import { describe, expect, it } from 'vitest';
import { mayLoadDawn } from './launch-cli.js';

describe('mayLoadDawn', () => {
  it('is false where no GPU is touched: help, version, the CPU backend, or the filter switched off', () => {
    expect(mayLoadDawn(['--help'], {})).toBe(false);
    expect(mayLoadDawn(['pretrain', '-h'], {})).toBe(false);
    expect(mayLoadDawn(['--version'], {})).toBe(false);
    expect(mayLoadDawn(['help', 'pretrain'], {})).toBe(false);
    expect(mayLoadDawn(['pretrain', '--backend', 'cpu'], {})).toBe(false);
    expect(mayLoadDawn(['pretrain', '--backend=cpu'], {})).toBe(false);
    expect(mayLoadDawn(['tasks'], { ANDES_BACKEND: 'cpu' })).toBe(false);
    expect(mayLoadDawn(['tasks'], { ANDES_DAWN_WARNINGS: '1' })).toBe(false);
  });

  it('is true for anything that may pick WebGPU', () => {
    expect(mayLoadDawn([], {})).toBe(true);
    expect(mayLoadDawn(['cpu'], {})).toBe(true);
    expect(mayLoadDawn(['pretrain', '--backend', 'webgpu'], {})).toBe(true);
    expect(mayLoadDawn(['sample', 'runs/default', '--prompt', 'help'], { ANDES_BACKEND: 'webgpu' })).toBe(true);
  });
});
