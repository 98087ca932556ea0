import cluster from 'node:cluster';
import type { Registry } from 'prom-client';
import type { Parts } from './parts.js';
import type { StatsCollector } from './stats.js';

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The text of /metrics: every worker's metrics, summed (histograms bucket by bucket). */
export type MetricsText = () => Promise<{ contentType: string; body: string }>;

export interface Metrics {
  text: MetricsText;
  /** Counts one answered request (called once per response, so kept cheap: no label hashing). */
  request(method: string, route: string, status: number, seconds: number): void;
}

/**
 * http_requests_total and http_request_duration_seconds kept in plain maps and handed to prom-client only
 * at scrape time: prom-client hashes the labels of every observation, a cost on every request.
 */
class RequestCounts {
  readonly #totals = new Map<string, { labels: { method: string; route: string; status: number }; n: number }>();
  readonly #times = new Map<string, { labels: { method: string; route: string }; buckets: number[]; sum: number; n: number }>();

  record(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route}`;
    const tkey = `${key} ${status}`;
    let t = this.#totals.get(tkey);
    if (!t) this.#totals.set(tkey, (t = { labels: { method, route, status }, n: 0 }));
    t.n++;
    let h = this.#times.get(key);
    if (!h) this.#times.set(key, (h = { labels: { method, route }, buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0, n: 0 }));
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]) i++;
    h.buckets[i]++;
    h.sum += seconds;
    h.n++;
  }

  /** The two metrics as prom-client metric objects (what getMetricsAsJSON asks each for). */
  metrics() {
    return [
      {
        name: 'http_requests_total',
        get: async () => ({
          name: 'http_requests_total',
          help: 'HTTP requests answered',
          type: 'counter',
          aggregator: 'sum',
          values: [...this.#totals.values()].map((t) => ({ labels: t.labels, value: t.n })),
        }),
      },
      {
        name: 'http_request_duration_seconds',
        get: async () => ({
          name: 'http_request_duration_seconds',
          help: 'Time to answer, by route',
          type: 'histogram',
          aggregator: 'sum',
          values: [...this.#times.values()].flatMap((h) => {
            let cumulative = 0;
            const buckets = DURATION_BUCKETS.map((le, i) => ({ metricName: 'http_request_duration_seconds_bucket', labels: { le, ...h.labels }, value: (cumulative += h.buckets[i]) }));
            return [
              ...buckets,
              { metricName: 'http_request_duration_seconds_bucket', labels: { le: '+Inf', ...h.labels }, value: h.n },
              { metricName: 'http_request_duration_seconds_sum', labels: h.labels, value: h.sum },
              { metricName: 'http_request_duration_seconds_count', labels: h.labels, value: h.n },
            ];
          }),
        }),
      },
    ];
  }
}

/**
 * Prometheus metrics of this process (prom-client, loaded only when METRICS_ENABLED). Counters the parts
 * already keep are read at scrape time, so serving pays only for the request counter and histogram.
 * Labels stay bounded: routes as registered, task kinds, output formats, tiers; never a file id.
 */
export function registerMetrics(parts: Parts, stats: StatsCollector): Metrics {
  const client = require('prom-client') as typeof import('prom-client');
  const registry = new client.Registry();
  const worker = String(cluster.worker?.id ?? 0);
  // Event loop, heap, GC, handles: per worker (labelled), so they are not summed into a meaningless total.
  client.collectDefaultMetrics({ register: registry, labels: { worker } });

  const requests = new RequestCounts();
  for (const m of requests.metrics()) registry.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);

  const tasks = new client.Histogram({ name: 'pool_task_duration_seconds', help: 'Worker-thread tasks by kind and outcome, queueing included', labelNames: ['kind', 'outcome'], buckets: DURATION_BUCKETS, registers: [registry] });
  parts.pool.onTask = (kind, outcome, seconds) => tasks.observe({ kind, outcome }, seconds);
  const conversions = new client.Histogram({ name: 'sticker_conversions_seconds', help: 'Conversions made, by output format and engine (pool threads or ffmpeg)', labelNames: ['format', 'engine'], buckets: DURATION_BUCKETS, registers: [registry] });
  parts.converter.onConverted = (format, seconds, engine) => conversions.observe({ format, engine }, seconds);

  /** A counter whose value is read from the parts at scrape time. */
  const readCounter = (name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, v: number) => void) => void) =>
    new client.Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        read((labels, v) => this.inc(labels, v));
      },
    });
  const readGauge = (name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, v: number) => void) => void, aggregator: 'sum' | 'max' | 'min' = 'sum') =>
    new client.Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      aggregator,
      collect() {
        this.reset();
        read((labels, v) => this.set(labels, v));
      },
    });

  readCounter('sticker_cache_lookups_total', 'Cache lookups by tier and result', ['tier', 'result'], (set) => {
    const m = parts.memoryCache.stats();
    set({ tier: 'memory', result: 'hit' }, m.hits);
    set({ tier: 'memory', result: 'miss' }, m.misses);
    for (const [tier, c] of [['disk', parts.disk?.counters], ['redis', parts.redis?.counters]] as const) {
      if (!c) continue;
      set({ tier, result: 'hit' }, c.hits);
      set({ tier, result: 'miss' }, c.misses);
      set({ tier, result: 'error' }, c.errors);
    }
  });
  readCounter('telegram_requests_total', 'Calls to Telegram by method', ['method'], (set) => {
    const c = parts.telegram?.counters;
    set({ method: 'getFile' }, c?.getFileCalls ?? 0);
    set({ method: 'getStickerSet' }, c?.getStickerSetCalls ?? 0);
    set({ method: 'getCustomEmojiStickers' }, c?.getCustomEmojiStickersCalls ?? 0);
    set({ method: 'download' }, c?.downloadCalls ?? 0);
  });
  readCounter('telegram_failures_total', 'Telegram failures by kind: errors, retries, 429 pauses', ['kind'], (set) => {
    const c = parts.telegram?.counters;
    set({ kind: 'error' }, c?.errors ?? 0);
    set({ kind: 'retry' }, c?.retries ?? 0);
    set({ kind: 'rate_limited' }, c?.rateLimited ?? 0);
  });
  readCounter('telegram_downloaded_bytes_total', 'Bytes downloaded from Telegram', [], (set) => set({}, parts.telegram?.counters.bytesDownloaded ?? 0));
  readGauge('pool_queue_depth', 'Tasks waiting for a worker thread', [], (set) => set({}, parts.pool.stats.queued));
  readGauge('pool_threads', 'Worker threads running', [], (set) => set({}, parts.pool.stats.threads));
  readGauge('pool_task_phase_seconds', "Tasks' wait for a thread and run time (piscina's quantiles), per worker", ['worker', 'phase', 'quantile'], (set) => {
    const t = parts.pool.timings;
    set({ worker, phase: 'wait', quantile: '0.5' }, t.waitP50 / 1000);
    set({ worker, phase: 'wait', quantile: '0.99' }, t.waitP99 / 1000);
    set({ worker, phase: 'run', quantile: '0.5' }, t.runP50 / 1000);
    set({ worker, phase: 'run', quantile: '0.99' }, t.runP99 / 1000);
  });
  readGauge('upload_bytes_held', 'Bytes of POST /convert bodies held', [], (set) => set({}, parts.uploads.used));
  if (parts.redis) readGauge('redis_up', 'Whether Redis is in use (0 while down or skipped)', [], (set) => set({}, parts.redis!.available ? 1 : 0), 'min');
  if (parts.disk) {
    // One store for the host: every worker reports the same figure, so they are not summed.
    readGauge('disk_cache_bytes', 'Bytes of the disk tier', [], (set) => set({}, parts.disk!.totals().bytes), 'max');
    readGauge('disk_cache_entries', 'Entries of the disk tier', [], (set) => set({}, parts.disk!.totals().entries), 'max');
    readGauge('disk_cache_evictions', 'Entries the disk tier has evicted since it was created', [], (set) => set({}, parts.disk!.totals().evictions), 'max');
  }

  stats.attach('metrics', () => registry.getMetricsAsJSON() as Promise<unknown[]>);
  return {
    request: (method, route, status, seconds) => requests.record(method, route, status, seconds),
    text: async () => {
      const all = await stats.collect('metrics');
      const merged: Registry = client.AggregatorRegistry.aggregate(all as Parameters<typeof client.AggregatorRegistry.aggregate>[0]);
      return { contentType: registry.contentType, body: await merged.metrics() };
    },
  };
}
