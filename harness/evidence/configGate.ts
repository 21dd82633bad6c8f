/**
 * "Config has landed" as a deterministic gate, never a fixed sleep: before probing, poll the real
 * sidecar's /config_dump until every listener and cluster expected is active and the
 * virtualOutbound catch-all sends to the cluster the outbound policy implies. What is expected comes
 * from the control plane itself where the harness can ask it (the netns lab: what lab-istiod
 * generated for that proxy, `expectedFromDump`), else from the model (kind: `expectedConfig`).
 * `istioctl x wait` is gone since Istio 1.23, so this is the gate.
 *
 * Pure: the dump fetcher, the clock and the sleep are injected.
 */
import type { ProxyConfig } from '../model/types.ts';

export type CatchAllCluster = 'PassthroughCluster' | 'BlackHoleCluster';

export interface ExpectedConfig {
  /** Listener names other than virtualOutbound, e.g. `0.0.0.0_7000`, `10.96.12.7_7000`. */
  listeners: string[];
  /** Service cluster names, e.g. `outbound|7000||redis` (not Passthrough/BlackHole: those always exist). */
  clusters: string[];
  /** Where virtualOutbound's `virtualOutbound-catchall-tcp` chain must send: the policy has propagated. */
  catchAll: CatchAllCluster;
}

const VIRTUAL_OUTBOUND = 'virtualOutbound';
const CATCH_ALL_CHAIN = 'virtualOutbound-catchall-tcp';
const SPECIAL_CLUSTERS = new Set([
  'PassthroughCluster',
  'BlackHoleCluster',
  'InboundPassthroughCluster',
  'InboundPassthroughClusterIpv4',
  'InboundPassthroughClusterIpv6',
]);
/** Listeners every sidecar has whatever the scenario says; the model may or may not draw them. */
const BUILTIN_LISTENERS = new Set([VIRTUAL_OUTBOUND, 'virtualInbound']);

function isCatchAll(c: string | undefined): c is CatchAllCluster {
  return c === 'PassthroughCluster' || c === 'BlackHoleCluster';
}

/**
 * What the model predicts must be in the real sidecar before probing. On kind, VIP listeners carry
 * real ClusterIPs and container IPs, so pass the model built from the address-substituted scenario.
 */
export function expectedConfig(model: ProxyConfig): ExpectedConfig {
  const listeners = model.listeners.filter((l) => !BUILTIN_LISTENERS.has(l.name)).map((l) => l.name);
  const clusters = model.clusters.filter((c) => !SPECIAL_CLUSTERS.has(c.name)).map((c) => c.name);
  // The model's own virtualOutbound says which cluster the catch-all uses; the policy decides it when absent.
  const vo = model.listeners.find((l) => l.name === VIRTUAL_OUTBOUND);
  const chain = vo?.filterChains.find((c) => c.name === CATCH_ALL_CHAIN);
  const modelled = chain?.filter.kind === 'tcp_proxy' ? chain.filter.cluster : undefined;
  const catchAll: CatchAllCluster = isCatchAll(modelled)
    ? modelled
    : model.policy === 'ALLOW_ANY'
      ? 'PassthroughCluster'
      : 'BlackHoleCluster';
  return { listeners: unique(listeners), clusters: unique(clusters), catchAll };
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

// ---------------------------------------------------------------------------------------------
// Reading a real config_dump. Envoy's admin API prints snake_case; istioctl's -o json prints
// lowerCamelCase. Both are read, every field checked before use.

type Json = Record<string, unknown>;

function obj(x: unknown): Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Json) : {};
}

function arr(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

function str(x: unknown): string | undefined {
  return typeof x === 'string' ? x : undefined;
}

const camel = (snake: string) => snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** o.snake_name, or o.snakeName as istioctl -o json prints it. */
function field(o: Json, snake: string): unknown {
  return snake in o ? o[snake] : o[camel(snake)];
}

function sections(dump: unknown): Json[] | undefined {
  const configs = obj(dump).configs;
  return Array.isArray(configs) ? configs.map(obj) : undefined;
}

function section(all: Json[], kind: string): Json {
  return all.find((c) => (str(c['@type']) ?? '').endsWith(`.${kind}`)) ?? {};
}

/** Active listeners only: one in `warming_state` (or `draining_state`) has not landed. */
function activeListeners(listenersSection: Json): Json[] {
  const dynamic = arr(field(listenersSection, 'dynamic_listeners'))
    .map((d) => obj(field(obj(d), 'active_state')))
    .map((s) => obj(s.listener))
    .filter((l) => str(l.name) !== undefined);
  const stat = arr(field(listenersSection, 'static_listeners')).map((d) => obj(obj(d).listener));
  return [...dynamic, ...stat];
}

/** Active clusters: dynamic_active_clusters plus static ones; dynamic_warming_clusters do not count. */
function activeClusterNames(clustersSection: Json): Set<string> {
  const entries = [...arr(field(clustersSection, 'dynamic_active_clusters')), ...arr(field(clustersSection, 'static_clusters'))];
  return new Set(entries.map((e) => str(obj(obj(e).cluster).name)).filter((n): n is string => n !== undefined));
}

const TCP_PROXY_NAMES = new Set(['envoy.filters.network.tcp_proxy', 'envoy.tcp_proxy']);

/** The cluster of the catch-all chain's tcp_proxy, or why there is none. */
function catchAllCluster(listeners: Json[]): { cluster: string } | { problem: string } {
  const vo = listeners.find((l) => l.name === VIRTUAL_OUTBOUND);
  if (!vo) return { problem: 'no active virtualOutbound listener' };
  const chain = arr(field(vo, 'filter_chains'))
    .map(obj)
    .find((c) => c.name === CATCH_ALL_CHAIN);
  if (!chain) return { problem: `virtualOutbound has no ${CATCH_ALL_CHAIN} filter chain` };
  for (const f of arr(chain.filters).map(obj)) {
    const cfg = obj(field(f, 'typed_config'));
    const isTcpProxy = TCP_PROXY_NAMES.has(str(f.name) ?? '') || (str(cfg['@type']) ?? '').endsWith('.TcpProxy');
    const cluster = str(cfg.cluster);
    if (isTcpProxy && cluster !== undefined) return { cluster };
  }
  return { problem: `${CATCH_ALL_CHAIN} has no tcp_proxy with a cluster` };
}

/**
 * Everything a control plane generated for a proxy (its /debug/config_dump, or lab-istiod dump):
 * every dynamic listener and cluster, and the catch-all it routes to.
 */
export function expectedFromDump(generated: unknown): ExpectedConfig {
  const all = sections(generated);
  if (!all) throw new Error('not a config_dump: no "configs" array');
  const listeners = activeListeners(section(all, 'ListenersConfigDump'));
  const seen = catchAllCluster(listeners);
  if ('problem' in seen) throw new Error(`the generated config has no catch-all: ${seen.problem}`);
  if (!isCatchAll(seen.cluster)) throw new Error(`the generated catch-all sends to ${seen.cluster}`);
  return {
    listeners: unique(listeners.map((l) => str(l.name)!)),
    clusters: [...activeClusterNames(section(all, 'ClustersConfigDump'))],
    catchAll: seen.cluster,
  };
}

/**
 * What of `expected` is not (yet) in a real Envoy /config_dump: one line per missing item, empty
 * when the config has landed. A dump that is not a config_dump at all is reported, not thrown.
 */
export function missingConfig(dump: unknown, expected: ExpectedConfig): string[] {
  const all = sections(dump);
  if (!all) return ['not an Envoy config_dump: no "configs" array'];
  const listeners = activeListeners(section(all, 'ListenersConfigDump'));
  const listenerNames = new Set(listeners.map((l) => str(l.name)));
  const clusterNames = activeClusterNames(section(all, 'ClustersConfigDump'));
  const missing: string[] = [];
  for (const name of expected.listeners) if (!listenerNames.has(name)) missing.push(`listener ${name}`);
  for (const name of expected.clusters) if (!clusterNames.has(name)) missing.push(`cluster ${name}`);
  const seen = catchAllCluster(listeners);
  if ('problem' in seen) missing.push(`catch-all ${expected.catchAll}: ${seen.problem}`);
  else if (seen.cluster !== expected.catchAll)
    missing.push(`catch-all ${expected.catchAll}: ${CATCH_ALL_CHAIN} still sends to ${seen.cluster}`);
  return missing;
}

export interface WaitOptions {
  /** Give up once this much time has passed since the first poll (at least one poll always runs). */
  timeoutMs: number;
  /** Pause between polls. */
  intervalMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

export type WaitResult = { ok: true; polls: number } | { ok: false; missing: string[]; polls: number };

/**
 * Polls `fetchDump` until `missingConfig` is empty or the timeout passes. A fetch that throws (the
 * sidecar not answering yet) counts as a poll that found nothing. The last poll happens at the
 * deadline, not an interval past it: the sleep before it is cut short.
 */
export async function waitForConfig(fetchDump: () => Promise<unknown>, expected: ExpectedConfig, opts: WaitOptions): Promise<WaitResult> {
  const deadline = opts.now() + opts.timeoutMs;
  let polls = 0;
  for (;;) {
    polls++;
    let missing: string[];
    try {
      missing = missingConfig(await fetchDump(), expected);
    } catch (err) {
      missing = [`config_dump unavailable: ${(err as Error).message}`];
    }
    if (missing.length === 0) return { ok: true, polls };
    const left = deadline - opts.now();
    if (left <= 0) return { ok: false, missing, polls };
    await opts.sleep(Math.min(opts.intervalMs, left));
  }
}
