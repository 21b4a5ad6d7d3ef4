// CPU time of a server process and of its threads, from Linux's /proc (the serve benchmark's reading of where the
// server's CPU goes). Fields 14 and 15 of a stat line (utime, stime) count 1/100 s ticks; field 19 is the nice value.
import { readdirSync, readFileSync } from 'node:fs';

/** The fields after the command name of a /proc stat line, from field 3 (state) on: index i is field i + 3. */
function statFields(path) {
  const stat = readFileSync(path, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** User + system seconds of a stat line's fields. */
const seconds = (fields) => (Number(fields[11]) + Number(fields[12])) / 100;

/** The process ids of `pid`'s children. */
function childrenOf(pid) {
  const out = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) {
      if (child.trim()) out.push(Number(child));
    }
  }
  return out;
}

/**
 * User + system CPU seconds so far of process `pid` and its descendants (andes-serve's bin re-runs itself as a child
 * to filter Dawn's warnings, except on the CPU backend). 0 when the process has ended.
 */
export function cpuSecondsOf(pid) {
  try {
    let total = seconds(statFields(`/proc/${pid}/stat`));
    for (const child of childrenOf(pid)) total += cpuSecondsOf(child);
    return total;
  } catch {
    return 0; // the process ended between the listing and the read
  }
}

/**
 * The process that serves: `pid` itself, or, when it is a launcher with a child (the Dawn-warning filter), the
 * child's serving process.
 */
export function servingProcess(pid) {
  try {
    const children = childrenOf(pid);
    return children.length > 0 ? servingProcess(children.at(-1)) : pid;
  } catch {
    return pid;
  }
}

/** Map thread id → { seconds, nice } of every thread of process `pid` now (empty when it has ended). */
export function threadCpu(pid) {
  const out = new Map();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const fields = statFields(`/proc/${pid}/task/${tid}/stat`);
        out.set(Number(tid), { seconds: seconds(fields), nice: Number(fields[16]) });
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    // the process ended
  }
  return out;
}

/**
 * The CPU seconds each thread of process `pid` spent between two `threadCpu` readings, grouped: `main` (the thread
 * whose id is the process id: HTTP, the scheduler), `compute` (the threads that used the most, up to `computeThreads`
 * of them, in the order they were created: with one engine worker its thread, then its CPU helper threads), and
 * `other` (V8's and libuv's helpers: garbage collection, compilation). Each compute entry carries its nice value.
 */
export function threadCpuBetween(pid, before, after, computeThreads) {
  const deltas = [];
  for (const [tid, a] of after)
    deltas.push({ tid, seconds: a.seconds - (before.get(tid)?.seconds ?? 0), nice: a.nice });
  const main = deltas.find((d) => d.tid === pid)?.seconds ?? 0;
  const rest = deltas.filter((d) => d.tid !== pid).sort((x, y) => y.seconds - x.seconds);
  const compute = rest.slice(0, computeThreads).sort((x, y) => x.tid - y.tid);
  const other = rest.slice(computeThreads).reduce((n, d) => n + d.seconds, 0);
  return { main, compute, other };
}
