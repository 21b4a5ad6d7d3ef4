/**
 * The switchboard: the one place kernels ask which variant of their family to run. It answers from (in order) a
 * pinned variant (benchmarks, the tuner itself), the tuned winner of the problem's shape class (in memory, loaded
 * from the cache file), or the family's fixed per-adapter default. With tuning on (`ANDES_TUNE` unset or `on`), an
 * unseen shape class is queued and tuned at the next `sync()`, so the first use runs the default and every later
 * use the measured winner.
 *
 * @module
 */

import type { Runtime } from '../runtime.js';
import type { AdapterProfile } from './adapter.js';
import type { KernelFamily } from './family.js';
import { defaultTimer, type KernelTimer } from './timer.js';
import { loadWinners, saveWinners } from './tuning-cache.js';

/** `on`: tune unseen shape classes on first use; `off`: fixed per-adapter defaults (tests). */
export type TuneMode = 'on' | 'off';

/** The tuning mode from `ANDES_TUNE` (`off`, `0`, `false` → off; anything else or unset → on). */
export function tuneModeFromEnv(): TuneMode {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const v = proc?.env?.ANDES_TUNE?.toLowerCase();
  return v === 'off' || v === '0' || v === 'false' ? 'off' : 'on';
}

/** What tuning one problem found. */
export interface TuneResult {
  family: string;
  shapeClass: string;
  winner: string;
  /** Median milliseconds per run of each candidate timed (absent: cached, or the candidate failed). */
  times: Record<string, number>;
  /** The winner came from memory or the cache file, nothing was timed. */
  cached: boolean;
}

/** Options of a {@link Switchboard}. */
export interface SwitchboardOptions {
  /** Andes version (cache key). */
  andes: string;
  mode?: TuneMode;
  /** Timing method (tests pass a fake). Default: timestamp queries where offered, else submit-and-wait. */
  timer?: KernelTimer;
  /** Read and write the cache file (default true). */
  persist?: boolean;
  /** Timed runs per candidate; the median counts (default 3). */
  runs?: number;
}

/** A family plus one of its problems, as queued or passed to {@link Switchboard.tune}. */
export interface FamilyProblem {
  family: string;
  problem: unknown;
}

/** Per-runtime variant choice and tuning state. */
export class Switchboard {
  readonly families = new Map<string, KernelFamily>();
  /** `family|shapeClass` → winning variant id. */
  readonly winners = new Map<string, string>();
  private readonly pins = new Map<string, string>();
  private readonly pending = new Map<string, FamilyProblem>();
  private loaded: Promise<void> | null = null;
  /** True while candidates are being timed: nothing is queued then, so tuning never nests. */
  private busy = false;
  readonly mode: TuneMode;
  readonly timer: KernelTimer;

  constructor(
    readonly rt: Runtime,
    readonly profile: AdapterProfile,
    families: readonly KernelFamily[],
    readonly options: SwitchboardOptions,
  ) {
    for (const f of families) this.families.set(f.name, f);
    this.mode = options.mode ?? tuneModeFromEnv();
    this.timer = options.timer ?? defaultTimer(profile);
  }

  private family(name: string): KernelFamily {
    const f = this.families.get(name);
    if (!f) throw new Error(`tune: unknown kernel family '${name}' (known: ${[...this.families.keys()].join(', ')})`);
    return f;
  }

  /** Forces `id` for every problem of `family` (`undefined` releases it). */
  pin(family: string, id: string | undefined): void {
    const f = this.family(family);
    if (id === undefined) this.pins.delete(family);
    else if (!(id in f.variants)) throw new Error(`tune: family '${family}' has no variant '${id}'`);
    else this.pins.set(family, id);
  }

  /** The variant id that runs `problem` now (without queueing anything). */
  resolve(family: string, problem: unknown): string {
    const f = this.family(family);
    const pinned = this.pins.get(family);
    if (pinned) return pinned;
    const won = this.winners.get(`${family}|${f.shapeClass(problem)}`);
    if (won && f.candidates(this.profile, problem).includes(won)) return won;
    return f.fallback(this.profile, problem);
  }

  /** The variant configuration to run; queues the problem for tuning when its class is unseen and tuning is on. */
  choose<V>(family: string, problem: unknown): V | undefined {
    const f = this.families.get(family);
    if (!f) return undefined;
    const id = this.resolve(family, problem);
    if (this.mode === 'on' && !this.busy && !this.pins.has(family)) {
      const key = `${family}|${f.shapeClass(problem)}`;
      if (!this.winners.has(key) && !this.pending.has(key)) {
        this.pending.set(key, { family, problem });
        this.rt.idleHook = async () => {
          await this.flushPending();
        };
      }
    }
    return f.variants[id] as V;
  }

  /** Loads the cache file once (winners already in memory win over the file). */
  load(): Promise<void> {
    this.loaded ??= (async () => {
      if (this.options.persist === false) return;
      const stored = await loadWinners(this.profile, this.options.andes);
      for (const [k, v] of Object.entries(stored)) if (!this.winners.has(k)) this.winners.set(k, v);
    })();
    return this.loaded;
  }

  /** Tunes the problems queued by {@link Switchboard.choose}. */
  async flushPending(): Promise<TuneResult[]> {
    if (this.busy) return [];
    const jobs = [...this.pending.values()];
    this.pending.clear();
    return jobs.length ? this.tune(jobs) : [];
  }

  /**
   * Times every candidate of each problem's family (warm-up first, then the median of `runs` timed runs, a slow
   * candidate abandoned after one run at 4× the best), keeps the fastest in memory and in the cache file. Classes
   * already tuned are answered from memory / the file unless `force`.
   */
  async tune(problems: readonly FamilyProblem[], opts: { force?: boolean } = {}): Promise<TuneResult[]> {
    await this.load();
    const results: TuneResult[] = [];
    let changed = false;
    const seen = new Set<string>();
    for (const { family, problem } of problems) {
      const f = this.family(family);
      const shapeClass = f.shapeClass(problem);
      const key = `${family}|${shapeClass}`;
      // One answer per class and call (a model lists many products of one class).
      if (seen.has(key)) continue;
      seen.add(key);
      const known = this.winners.get(key);
      if (known && !opts.force && f.candidates(this.profile, problem).includes(known)) {
        results.push({ family, shapeClass, winner: known, times: {}, cached: true });
        continue;
      }
      const times = await this.timeCandidates(f, problem);
      const ranked = Object.entries(times).sort((a, b) => a[1] - b[1]);
      const winner = ranked[0]?.[0] ?? f.fallback(this.profile, problem);
      this.winners.set(key, winner);
      this.pending.delete(key);
      changed = true;
      results.push({ family, shapeClass, winner, times, cached: false });
    }
    if (changed && this.options.persist !== false) {
      await saveWinners(this.profile, this.options.andes, Object.fromEntries(this.winners));
    }
    return results;
  }

  private async timeCandidates(f: KernelFamily, problem: unknown): Promise<Record<string, number>> {
    const runs = this.options.runs ?? 3;
    const times: Record<string, number> = {};
    this.busy = true;
    const prepared = f.prepare(this.rt, problem);
    let best = Number.POSITIVE_INFINITY;
    try {
      for (const id of f.candidates(this.profile, problem)) {
        this.pins.set(f.name, id);
        try {
          // Warm-up: compiles the pipelines, so compile time never counts against a variant.
          prepared.run();
          await this.rt.sync();
          const samples: number[] = [];
          for (let i = 0; i < runs; i++) {
            samples.push(await this.timer.measure(this.rt, () => prepared.run(), `${f.name}:${id}`));
            if (samples[0]! > 4 * best) break;
          }
          samples.sort((a, b) => a - b);
          const median = samples[Math.floor((samples.length - 1) / 2)]!;
          times[id] = median;
          best = Math.min(best, median);
        } catch {
          // A variant the device rejects (a validation error) just drops out of the race.
        } finally {
          this.pins.delete(f.name);
        }
      }
    } finally {
      prepared.dispose();
      this.busy = false;
    }
    return times;
  }
}

const boards = new WeakMap<Runtime, Switchboard>();

/** Attaches the switchboard kernels of `rt` consult. */
export function attachSwitchboard(rt: Runtime, board: Switchboard): void {
  boards.set(rt, board);
}

/** The switchboard of `rt`, if one is attached. */
export function switchboardOf(rt: Runtime): Switchboard | undefined {
  return boards.get(rt);
}

/** The variant `family` should run for `problem` on `rt`, or undefined when no switchboard / family is attached. */
export function chooseVariant<V>(rt: Runtime, family: string, problem: unknown): V | undefined {
  return boards.get(rt)?.choose<V>(family, problem);
}
