/**
 * `egress-lab explain`: which listener, filter chain, route and cluster a connection hits in a
 * given Envoy config dump, and why. Istio's own traffic simulation (pilot/pkg/simulation/traffic.go)
 * decides, run offline by lab-istiod over the dump as istioctl reads it
 * (istioctl/pkg/util/configdump); see istio/cmd/lab-istiod/explain.go. No lab, no network.
 */
import { run } from '../proc/exec.ts';
import type { SimulationCall } from './simulation.ts';
import { MATCH_FIELDS, type PathMatch } from '../model/pathMatch.ts';
import { isMapping as isObj } from '../core/mapping.ts';

/** What the dump says of itself. */
export interface DumpInfo {
  node?: string;
  istioVersion?: string;
  listeners: number;
  clusters: number;
  routes: number;
  /** Deprecated filter names (Istio 1.4-1.6) read as their current names, "old -> new". */
  renamed: string[];
}

/** One connection's path, and the fields of the matched objects that decided it. */
export interface Explanation {
  call: SimulationCall;
  match: PathMatch;
  listenerBy?: string;
  /** The matched chain's filter_chain_match in config_dump's snake_case (absent: it matches all). */
  filterChainMatch?: Record<string, unknown>;
  domains?: string[];
  routeMatch?: Record<string, unknown>;
  clusterType?: string;
  endpoints?: string[];
  clusterInDump: boolean;
}

export interface ExplainResult {
  file: string;
  dump: DumpInfo;
  explanations: Explanation[];
}

/** `--to IP:PORT` with `--sni` (TLS) or `--host` (HTTP with that Host header), as a simulation call. */
export function explainCall(to: string, opts: { sni?: string; host?: string; protocol?: 'tcp' | 'http' }): SimulationCall {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(to);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`--to ${to}: expected IP:PORT, e.g. 10.10.13.110:3306`);
  if (opts.sni !== undefined && opts.host !== undefined)
    throw new Error('--sni and --host: a TLS connection (SNI) carries no Host header the sidecar can read; give one');
  const protocol = opts.protocol ?? (opts.host !== undefined ? 'http' : 'tcp');
  if (opts.host !== undefined && protocol !== 'http') throw new Error('--host needs --protocol http (a Host header is HTTP)');
  const call: SimulationCall = { address: m[1]!, port: Number(m[2]), protocol, tls: opts.sni !== undefined };
  if (opts.sni !== undefined) call.sni = opts.sni;
  if (opts.host !== undefined) call.hostHeader = opts.host;
  return call;
}

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.map(String) : undefined);

/** lab-istiod explain's answer, checked. */
export function parseExplainOutput(text: string, calls: SimulationCall[], file: string): ExplainResult {
  const data = JSON.parse(text) as unknown;
  if (!isObj(data) || !isObj(data.dump) || !Array.isArray(data.results) || data.results.length !== calls.length) {
    throw new Error(`lab-istiod explain: expected {dump, results[${calls.length}]}, got ${text.slice(0, 200)}`);
  }
  const d = data.dump;
  const dump: DumpInfo = {
    listeners: Number(d.listeners),
    clusters: Number(d.clusters),
    routes: Number(d.routes),
    renamed: strings(d.renamed) ?? [],
    ...(typeof d.node === 'string' ? { node: d.node } : {}),
    ...(typeof d.istioVersion === 'string' ? { istioVersion: d.istioVersion } : {}),
  };
  const explanations = data.results.map((r: unknown, i: number): Explanation => {
    const o = isObj(r) ? r : {};
    const match: PathMatch = {};
    for (const f of MATCH_FIELDS) if (typeof o[f] === 'string' && o[f] !== '') match[f] = o[f];
    if (typeof o.undecided === 'string' && o.undecided !== '') match.undecided = o.undecided;
    const e: Explanation = { call: calls[i]!, match, clusterInDump: o.clusterInDump === true };
    if (typeof o.listenerBy === 'string') e.listenerBy = o.listenerBy;
    if (isObj(o.filterChainMatch)) e.filterChainMatch = o.filterChainMatch;
    if (strings(o.domains)) e.domains = strings(o.domains);
    if (isObj(o.routeMatch)) e.routeMatch = o.routeMatch;
    if (typeof o.clusterType === 'string') e.clusterType = o.clusterType;
    if (strings(o.endpoints)) e.endpoints = strings(o.endpoints);
    return e;
  });
  return { file, dump, explanations };
}

/**
 * Runs the simulation over the dump. lab-istiod only reads the file and computes (no sockets), so
 * it runs where it is called, like `lab-istiod validate`.
 */
export async function explainDump(labIstiod: string, file: string, calls: SimulationCall[]): Promise<ExplainResult> {
  const out = await run(labIstiod, ['explain', '--config-dump', file], { input: JSON.stringify(calls), timeoutMs: 30_000 });
  return parseExplainOutput(out, calls, file);
}
