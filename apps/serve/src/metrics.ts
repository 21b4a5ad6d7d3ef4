/**
 * A minimal Prometheus metrics registry (text exposition format 0.0.4): counters, gauges and histograms with
 * labels. Enough for `/metrics`; no dependency on prom-client.
 *
 * @module
 */

/** Label names → values of one time series, e.g. `{ endpoint: '/v1/completions', status: '200' }`. */
export type Labels = Readonly<Record<string, string>>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function fmt(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isNaN(v) ? 'NaN' : String(v);
}

/** Anything the registry renders: a metric family in Prometheus text format. */
export interface Metric {
  /** `# HELP`, `# TYPE` and sample lines, without a trailing newline. */
  render(): string;
}

/** A monotonically increasing count, per label set. */
export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  /** `name` should end in `_total`. */
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  /** Adds `by` (≥ 0, default 1). */
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  /** The current value for `labels` (0 if never incremented). */
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  /** Exposition text. */
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ''} ${fmt(v)}`);
    return lines.join('\n');
  }
}

/** A value that goes up and down; optionally read from a callback at scrape time. */
export class Gauge implements Metric {
  private value = 0;
  /** With `read`, the gauge reports `read()` at each scrape. */
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read?: () => number,
  ) {}
  /** Sets the value. */
  set(v: number): void {
    this.value = v;
  }
  /** The current value. */
  get(): number {
    return this.read ? this.read() : this.value;
  }
  /** Exposition text. */
  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${fmt(this.get())}`].join(
      '\n',
    );
  }
}

/** Cumulative-bucket histogram (Prometheus semantics: bucket `le` counts observations ≤ le). */
export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  /** `buckets`: ascending upper bounds; `+Inf` is added. */
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.counts = new Array(buckets.length).fill(0);
  }
  /** Records one observation. */
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) this.counts[i]!++;
  }
  /** Number of observations so far. */
  get observations(): number {
    return this.count;
  }
  /** Exposition text. */
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (let i = 0; i < this.buckets.length; i++) {
      lines.push(`${this.name}_bucket{le="${fmt(this.buckets[i]!)}"} ${this.counts[i]}`);
    }
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`);
    lines.push(`${this.name}_sum ${fmt(this.sum)}`, `${this.name}_count ${this.count}`);
    return lines.join('\n');
  }
}

/** Latency buckets in seconds, 1 ms … 60 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The server's metrics, rendered together at `/metrics`. */
export class ServeMetrics {
  /** HTTP requests by endpoint and status code. */
  readonly requests = new Counter('andes_requests_total', 'HTTP requests by endpoint and status code.');
  /** Prompt tokens processed (prefill). */
  readonly promptTokens = new Counter('andes_prompt_tokens_total', 'Prompt tokens processed.');
  /** Tokens generated (decode). */
  readonly generatedTokens = new Counter('andes_generation_tokens_total', 'Tokens generated.');
  /** Sequences finished by reason (stop, length, cancelled). */
  readonly finished = new Counter('andes_sequences_finished_total', 'Sequences finished, by reason.');
  /** Seconds from request arrival to its first generated token. */
  readonly timeToFirstToken = new Histogram(
    'andes_time_to_first_token_seconds',
    'Seconds from request arrival to the first generated token.',
    LATENCY_BUCKETS,
  );
  /** Seconds between consecutive generated tokens of one sequence. */
  readonly interTokenLatency = new Histogram(
    'andes_inter_token_latency_seconds',
    'Seconds between consecutive tokens of one sequence.',
    LATENCY_BUCKETS,
  );
  /** Sequences in each decode batch. */
  readonly batchSize = new Histogram(
    'andes_decode_batch_size',
    'Sequences per decode step.',
    [1, 2, 4, 8, 16, 32, 64, 128],
  );
  /** Sequences whose prompt chunks went through one prefill forward. */
  readonly prefillBatchSize = new Histogram(
    'andes_prefill_batch_size',
    'Sequences per prefill forward (batched prefill of arrivals).',
    [1, 2, 4, 8, 16, 32, 64, 128],
  );
  /** Wall seconds of each scheduler step (one engine forward, decodes and prefill chunks together). */
  readonly stepSeconds = new Histogram(
    'andes_step_seconds',
    'Wall seconds per scheduler step (one forward of decodes and prefill chunks).',
    LATENCY_BUCKETS,
  );
  /** New sequences that reused cached prompt tokens (prefix caching). */
  readonly prefixCacheHits = new Counter(
    'andes_prefix_cache_hits_total',
    'Sequences that reused cached prompt tokens.',
  );
  /** Prompt tokens not prefilled because a slot's cache already held them. */
  readonly prefixCacheTokens = new Counter(
    'andes_prefix_cache_tokens_total',
    'Prompt tokens reused from the KV cache instead of prefilled.',
  );
  /** Running sequences preempted because the KV pool ran out of blocks (recomputed later). */
  readonly preemptions = new Counter(
    'andes_preemptions_total',
    'Running sequences preempted for lack of free KV blocks (requeued, recomputed).',
  );
  /** Seconds the scheduler waited before a step for the next requests of clients whose sequences just ended. */
  readonly refillWaitSeconds = new Histogram(
    'andes_refill_wait_seconds',
    'Seconds a step waited for the follow-up requests of sequences that just ended (refill waits).',
    [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2],
  );
  /** Requests refused by the per-key rate limit. */
  readonly rateLimited = new Counter('andes_rate_limited_total', 'Requests refused by the per-key rate limit (429).');
  private readonly gauges: Gauge[] = [];

  /**
   * All are read at scrape time: waiting requests, running sequences, KV-cache slots, and (optional) KV-cache
   * positions in use and in all, and (optional) paged KV blocks used, free and in all (admission is by free blocks).
   */
  constructor(
    queueDepth: () => number,
    running: () => number,
    slots: () => number,
    kvPositions?: { used: () => number; total: () => number },
    kvBlocks?: { used: () => number; free: () => number; total: () => number },
  ) {
    this.gauges.push(
      new Gauge('andes_queue_depth', 'Requests waiting for a KV-cache slot.', queueDepth),
      new Gauge('andes_batch_occupancy', 'Sequences currently holding a KV-cache slot.', running),
      new Gauge('andes_batch_slots', 'KV-cache slots (maximum batch).', slots),
    );
    if (kvPositions) {
      this.gauges.push(
        new Gauge('andes_kv_positions_in_use', 'KV-cache positions held by running sequences.', kvPositions.used),
        new Gauge('andes_kv_positions_total', 'KV-cache positions in all (slots × context).', kvPositions.total),
      );
    }
    if (kvBlocks) {
      this.gauges.push(
        new Gauge('andes_kv_blocks_used', 'Paged KV-cache blocks held by running sequences.', kvBlocks.used),
        new Gauge('andes_kv_blocks_free', 'Paged KV-cache blocks free (some holding cached prefixes).', kvBlocks.free),
        new Gauge('andes_kv_blocks_total', 'Paged KV-cache blocks in the pool.', kvBlocks.total),
      );
    }
  }

  /** The full exposition text. */
  render(): string {
    const all: Metric[] = [
      this.requests,
      this.promptTokens,
      this.generatedTokens,
      this.finished,
      this.rateLimited,
      this.prefixCacheHits,
      this.prefixCacheTokens,
      this.preemptions,
      ...this.gauges,
      this.timeToFirstToken,
      this.interTokenLatency,
      this.batchSize,
      this.prefillBatchSize,
      this.refillWaitSeconds,
      this.stepSeconds,
    ];
    return `${all.map((m) => m.render()).join('\n')}\n`;
  }
}
