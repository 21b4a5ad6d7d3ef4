import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { mayLoadDawn } from './launch-cli.js';

const WARNING =
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.';

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

describe('launchCli', () => {
  // A stand-in CLI that writes like Dawn (straight to descriptor 2, from outside JavaScript's stderr stream), prints
  // a real message, and either exits or waits for a signal. Run through the built launcher, as the bins do.
  const dir = mkdtempSync(join(tmpdir(), 'andes-cli-launch-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const launcher = fileURLToPath(new URL('../dist/index.js', import.meta.url));
  writeFileSync(
    join(dir, 'entry.mjs'),
    `import { writeSync } from 'node:fs';
writeSync(2, ${JSON.stringify(`${WARNING}\n`)});
console.error('andes-fake: a real message');
if (process.argv.includes('--wait')) {
  process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(7); });
  console.log('ready ' + process.pid);
  setInterval(() => {}, 1000);
} else process.exit(3);
`,
  );
  writeFileSync(
    join(dir, 'bin.mjs'),
    `import { launchCli } from ${JSON.stringify(launcher)};\nawait launchCli(new URL('./entry.mjs', import.meta.url));\n`,
  );
  const env = (extra: NodeJS.ProcessEnv = {}) => {
    const e: NodeJS.ProcessEnv = { ...process.env, ...extra };
    if (extra.ANDES_BACKEND === undefined) delete e.ANDES_BACKEND;
    return e;
  };

  it("drops Dawn's warning, keeps everything else, and exits with the CLI's status", () => {
    const filtered = spawnSync(process.execPath, [join(dir, 'bin.mjs'), 'go'], { encoding: 'utf8', env: env() });
    expect(filtered.status).toBe(3);
    expect(filtered.stderr).toBe('andes-fake: a real message\n');
    // The same CLI in-process (the filter switched off) shows what was dropped.
    const raw = spawnSync(process.execPath, [join(dir, 'bin.mjs'), 'go'], {
      encoding: 'utf8',
      env: env({ ANDES_DAWN_WARNINGS: '1' }),
    });
    expect(raw.status).toBe(3);
    expect(raw.stderr).toBe(`${WARNING}\nandes-fake: a real message\n`);
  });

  it('forwards SIGTERM once, and a child whose launcher is SIGKILLed ends too', async () => {
    const start = () => {
      const child = spawn(process.execPath, [join(dir, 'bin.mjs'), '--wait'], { env: env() });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      return { child, exited, out: () => out };
    };
    const waitFor = async (f: () => boolean) => {
      for (let i = 0; i < 500 && !f(); i++) await new Promise((r) => setTimeout(r, 20));
    };
    const a = start();
    await waitFor(() => a.out().includes('ready'));
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(7);
    expect(a.out().match(/got SIGTERM/g)).toHaveLength(1);

    const b = start();
    await waitFor(() => /ready \d+/.test(b.out()));
    const pid = Number(/ready (\d+)/.exec(b.out())![1]);
    b.child.kill('SIGKILL');
    await b.exited;
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitFor(() => !alive());
    expect(alive()).toBe(false);
  });
});
