import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../runtime.js';
import type { AdapterProfile } from './adapter.js';
import type { KernelFamily } from './family.js';
import { Switchboard, tuneModeFromEnv } from './switchboard.js';
import type { KernelTimer } from './timer.js';
import { andesVersion, cacheDir, cacheFile } from './tuning-cache.js';

// The tuner's bookkeeping with a fake clock: no GPU needed, so it runs everywhere.

const profile: AdapterProfile = {
  vendor: 'acme',
  architecture: 'rdna9',
  device: 'x1',
  description: 'acme driver 1.2.3',
  cpu: false,
  subgroups: false,
  timestampQuery: false,
};

/** A family of three variants whose "cost" the fake timer reads from a table. */
function fakeFamily(ran: string[]): KernelFamily<{ n: number }> {
  return {
    name: 'fake',
    variants: { a: { v: 'a' }, b: { v: 'b' }, c: { v: 'c' } },
    shapeClass: (p) => `n${p.n <= 8 ? 8 : 64}`,
    candidates: () => ['a', 'b', 'c'],
    fallback: () => 'a',
    prepare: () => ({ run: () => ran.push('run'), dispose: () => ran.push('dispose') }),
  };
}

function fakeTimer(costs: Record<string, number>, calls: string[]): KernelTimer {
  return {
    name: 'fake',
    async measure(_rt, run, label) {
      run();
      calls.push(label);
      return costs[label.split(':')[1]!]!;
    },
  };
}

function fakeRuntime(): Runtime {
  return { idleHook: null, sync: async () => {} } as unknown as Runtime;
}

let dir = '';
const saved = process.env.ANDES_CACHE_DIR;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'andes-tune-'));
  process.env.ANDES_CACHE_DIR = dir;
});
afterAll(() => {
  if (saved === undefined) delete process.env.ANDES_CACHE_DIR;
  else process.env.ANDES_CACHE_DIR = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe('switchboard and tuner (fake clock)', () => {
  it('times every candidate, keeps the fastest, and writes the cache file atomically', async () => {
    const calls: string[] = [];
    const ran: string[] = [];
    const board = new Switchboard(fakeRuntime(), profile, [fakeFamily(ran)], {
      andes: '1.0.0',
      mode: 'on',
      timer: fakeTimer({ a: 5, b: 2, c: 9 }, calls),
    });
    expect(board.choose('fake', { n: 4 })).toEqual({ v: 'a' });
    const [r] = await board.tune([{ family: 'fake', problem: { n: 4 } }]);
    expect(r).toMatchObject({ family: 'fake', shapeClass: 'n8', winner: 'b', cached: false });
    expect(r!.times).toEqual({ a: 5, b: 2, c: 9 });
    expect(calls.filter((c) => c === 'fake:b')).toHaveLength(3);
    expect(ran.at(-1)).toBe('dispose');
    expect(board.choose('fake', { n: 7 })).toEqual({ v: 'b' });
    expect(board.choose('fake', { n: 40 })).toEqual({ v: 'a' });
    const files = readdirSync(dir);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const file = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8'));
    expect(file).toMatchObject({ andes: '1.0.0', adapter: { vendor: 'acme', description: 'acme driver 1.2.3' } });
    expect(file.winners).toEqual({ 'fake|n8': 'b' });
  });

  it('abandons a candidate after one run when it is 4× slower than the best so far', async () => {
    const calls: string[] = [];
    const board = new Switchboard(fakeRuntime(), profile, [fakeFamily([])], {
      andes: 'x',
      timer: fakeTimer({ a: 1, b: 50, c: 3 }, calls),
      persist: false,
    });
    const [r] = await board.tune([{ family: 'fake', problem: { n: 64 } }]);
    expect(r!.winner).toBe('a');
    expect(calls.filter((c) => c === 'fake:b')).toHaveLength(1);
    expect(calls.filter((c) => c === 'fake:c')).toHaveLength(3);
  });

  it('reloads the winner from the cache file in a new process-like switchboard, timing nothing', async () => {
    const calls: string[] = [];
    const board = new Switchboard(fakeRuntime(), profile, [fakeFamily([])], {
      andes: '1.0.0',
      mode: 'on',
      timer: fakeTimer({ a: 1, b: 1, c: 1 }, calls),
    });
    await board.load();
    expect(board.choose('fake', { n: 3 })).toEqual({ v: 'b' });
    const [r] = await board.tune([{ family: 'fake', problem: { n: 3 } }]);
    expect(r).toMatchObject({ winner: 'b', cached: true, times: {} });
    expect(calls).toEqual([]);
  });

  it('misses the cache for another adapter (driver string) or another Andes version', async () => {
    for (const [p, andes] of [
      [{ ...profile, description: 'acme driver 1.2.4' }, '1.0.0'],
      [profile, '1.0.1'],
    ] as const) {
      const calls: string[] = [];
      const board = new Switchboard(fakeRuntime(), p, [fakeFamily([])], {
        andes,
        timer: fakeTimer({ a: 1, b: 7, c: 7 }, calls),
      });
      await board.load();
      expect(board.resolve('fake', { n: 3 })).toBe('a');
      const [r] = await board.tune([{ family: 'fake', problem: { n: 3 } }]);
      expect(r).toMatchObject({ winner: 'a', cached: false });
      expect(calls.length).toBeGreaterThan(0);
    }
  });

  it('queues an unseen shape class on first use and tunes it at the next sync; off mode never queues', async () => {
    const rt = fakeRuntime();
    const board = new Switchboard(rt, profile, [fakeFamily([])], {
      andes: 'q',
      mode: 'on',
      timer: fakeTimer({ a: 3, b: 2, c: 1 }, []),
      persist: false,
    });
    expect(board.choose('fake', { n: 64 })).toEqual({ v: 'a' });
    expect(rt.idleHook).toBeTypeOf('function');
    await rt.idleHook!();
    expect(board.choose('fake', { n: 64 })).toEqual({ v: 'c' });

    const rtOff = fakeRuntime();
    const off = new Switchboard(rtOff, profile, [fakeFamily([])], { andes: 'q', mode: 'off', persist: false });
    expect(off.choose('fake', { n: 64 })).toEqual({ v: 'a' });
    expect(rtOff.idleHook).toBeNull();
  });

  it('pins override the winner, and unknown families or variants are named in the error', () => {
    const board = new Switchboard(fakeRuntime(), profile, [fakeFamily([])], { andes: 'p', persist: false });
    board.pin('fake', 'c');
    expect(board.choose('fake', { n: 1 })).toEqual({ v: 'c' });
    expect(() => board.pin('fake', 'zz')).toThrow(/family 'fake' has no variant 'zz'/);
    expect(() => board.pin('nope', 'a')).toThrow(/unknown kernel family 'nope'/);
  });

  it('reads ANDES_TUNE and the cache directory from the environment', async () => {
    const before = process.env.ANDES_TUNE;
    process.env.ANDES_TUNE = 'off';
    expect(tuneModeFromEnv()).toBe('off');
    process.env.ANDES_TUNE = 'on';
    expect(tuneModeFromEnv()).toBe('on');
    if (before === undefined) delete process.env.ANDES_TUNE;
    else process.env.ANDES_TUNE = before;
    expect(await cacheDir()).toBe(dir);
    expect(await cacheFile(profile, '1.0.0')).toMatch(new RegExp(`^${dir}/tuning-[0-9a-f]{8}\\.json$`));
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    expect(await andesVersion()).toBe(pkg.version);
  });
});
