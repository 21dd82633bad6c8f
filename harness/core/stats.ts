/**
 * Envoy-style stats for the sidecar model, plus parsers for real Envoy admin output, so the model and
 * a real sidecar can be compared name by name (Envoy's cluster, listener, tcp_proxy and HTTP connection
 * manager stats; Istio's ';' suffix comes from the alt_stat_name it sets in pilot/pkg/networking/core/cluster_builder.go).
 */

export type StatsEra = 'legacy' | 'modern';

/**
 * Counters and gauges by full /stats name. A name written with `set` is treated as a gauge, the way
 * Envoy gauges are set-able and survive /reset_counters; names only ever `inc`'d are counters.
 */
export class StatsStore {
  private readonly values = new Map<string, number>();
  private readonly gauges = new Set<string>();

  inc(name: string, by = 1): void {
    this.values.set(name, this.get(name) + by);
  }

  set(name: string, v: number): void {
    this.values.set(name, v);
    this.gauges.add(name);
  }

  /** Absent means 0: Istio enables deferred stat creation, so unused stats don't exist yet. */
  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  /** Envoy /reset_counters: counters go to 0 but stay listed; gauges keep their value. */
  reset(): void {
    for (const name of this.values.keys()) {
      if (!this.gauges.has(name)) this.values.set(name, 0);
    }
  }

  snapshot(): Map<string, number> {
    return new Map(this.values);
  }

  /** Admin /stats text: `name: value` per line in byte order, as Envoy's std::string sort gives. */
  renderText(): string {
    const names = [...this.values.keys()].sort(byteOrder);
    return names.map((n) => `${n}: ${this.get(n)}\n`).join('');
  }
}

/** std::string comparison; localeCompare would reorder punctuation such as '|' and ';'. */
function byteOrder(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Modern Istio appends ';' to cluster alt_stat_name and HCM prefixes; the 1.4-1.6 seeds show none. */
export function statsDelimiter(era: StatsEra): string {
  return era === 'modern' ? ';' : '';
}

/** `cluster.PassthroughCluster;.upstream_cx_total` (modern) / `cluster.PassthroughCluster.upstream_cx_total`. */
export function clusterStat(cluster: string, stat: string, era: StatsEra): string {
  return `cluster.${cluster}${statsDelimiter(era)}.${stat}`;
}

/** tcp_proxy stat_prefix never carries the ';' delimiter, in either era. */
export function tcpStat(statPrefix: string, stat: string): string {
  return `tcp.${statPrefix}.${stat}`;
}

/** `listener.0.0.0.0_15001.downstream_cx_total`; listener names have no delimiter. */
export function listenerStat(listenerName: string, stat: string): string {
  return `listener.${listenerName}.${stat}`;
}

/** `http.outbound_0.0.0.0_80;.downstream_rq_5xx` (modern) / without ';' (legacy). */
export function httpStat(statPrefix: string, stat: string, era: StatsEra): string {
  return `http.${statPrefix}${statsDelimiter(era)}.${stat}`;
}

const NUMERIC = /^-?\d+(\.\d+)?$/;

/**
 * Parse admin /stats text. Histogram summaries (`P0(nan,1) ...`, `No recorded values`) and text
 * readouts are skipped. Names may contain ':' (e.g. `outbound|7000||redis`), so the separator is the
 * last ": " on the line.
 */
export function parseStatsText(text: string): Map<string, number> {
  const stats = new Map<string, number>();
  for (const line of text.split('\n')) {
    const sep = line.lastIndexOf(': ');
    if (sep <= 0) continue;
    const value = line.slice(sep + 2).trim();
    if (NUMERIC.test(value)) stats.set(line.slice(0, sep), Number(value));
  }
  return stats;
}

/** Parse `/stats?format=json`: `{"stats":[{"name","value"}, ..., {"histograms":{...}}]}`. */
export function parseStatsJson(json: unknown): Map<string, number> {
  const stats = new Map<string, number>();
  const list = isRecord(json) && Array.isArray(json.stats) ? json.stats : [];
  for (const item of list) {
    if (!isRecord(item) || typeof item.name !== 'string') continue;
    const value = toNumber(item.value);
    if (value !== undefined) stats.set(item.name, value);
  }
  return stats;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Numbers pass through; numeric strings are accepted, text readouts (e.g. server.version) are not. */
function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && NUMERIC.test(v)) return Number(v);
  return undefined;
}

/** Delta (after - before) for every name whose value changed; a name missing on one side counts as 0. */
export function diffStats(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const diff = new Map<string, number>();
  const names = new Set([...before.keys(), ...after.keys()]);
  for (const name of names) {
    const delta = (after.get(name) ?? 0) - (before.get(name) ?? 0);
    if (delta !== 0) diff.set(name, delta);
  }
  return diff;
}

/**
 * Envoy stats the scenarios assert on, which Istio's default inclusion list leaves out
 * (pkg/bootstrap/config.go: without proxyStatsMatcher, Envoy's stats_matcher keeps only Istio's own prefixes).
 */
export const MESH_STATS_PREFIXES = [
  'cluster.PassthroughCluster',
  'cluster.BlackHoleCluster',
  'cluster.outbound|',
  'tcp.',
  'listener.',
  'http.',
  'http_inspector',
];
