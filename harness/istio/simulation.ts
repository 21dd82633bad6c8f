/**
 * Istio's own traffic simulation (pilot/pkg/simulation/traffic.go) over the config istiod
 * generated for a pod, run by lab-istiod (istio/cmd/lab-istiod/simulate.go): a probe becomes a
 * simulation Call, and the answer is the same PathMatch the model's trace gives, so the two can be
 * compared by name. The simulation matches config only: it cannot tell that a server-first client
 * (MySQL) leaves http_inspector waiting, so it says where such a connection would go once bytes came.
 */
import { inspectHttp } from '../model/httpInspector.ts';
import type { PathMatch } from '../model/pathTrace.ts';
import type { ProbeTarget } from '../probes/probeType.ts';

/** simulation.Call, as lab-istiod reads it. */
export interface SimulationCall {
  address: string;
  port: number;
  protocol: 'http' | 'tcp';
  tls: boolean;
  sni?: string;
  hostHeader?: string;
  path?: string;
  headers?: Record<string, string>;
}

/**
 * What the client sends, in the simulation's terms: curl's http:// request is HTTP (and its Host
 * header picks the virtual host; its path and headers, the route), https:// is TLS with the URL host as SNI, a raw client's first
 * bytes are HTTP only if http_inspector would call them HTTP/1.1 (Istio's HTTP chains match
 * http/1.1 and h2c, not the http/1.0 that "keys *" reads as); anything else is TCP.
 */
export function simulationCall(target: ProbeTarget, resolvedIp: string): SimulationCall {
  const base = { address: resolvedIp, port: target.port };
  if (target.scheme === 'https') return { ...base, protocol: 'tcp', tls: true, sni: target.host };
  if (target.scheme === 'http')
    return {
      ...base,
      protocol: 'http',
      tls: false,
      hostHeader: target.hostHeader ?? target.host,
      ...(target.path ? { path: target.path } : {}),
      ...(target.headers && Object.keys(target.headers).length > 0 ? { headers: target.headers } : {}),
    };
  const http11 =
    target.sendsFirst && target.firstBytes !== undefined && inspectHttp(Buffer.from(target.firstBytes, 'latin1')) === 'http/1.1';
  return { ...base, protocol: http11 ? 'http' : 'tcp', tls: false };
}

const FIELDS = ['listener', 'filterChain', 'routeConfig', 'virtualHost', 'route', 'cluster', 'error'] as const;

/** lab-istiod's answer, checked: one object of string fields per call. */
export function parseSimulationResults(text: string, calls: number): PathMatch[] {
  const data = JSON.parse(text) as unknown;
  if (!Array.isArray(data) || data.length !== calls)
    throw new Error(`lab-istiod simulate: expected ${calls} results, got ${text.slice(0, 200)}`);
  return data.map((d) => {
    const m: PathMatch = {};
    for (const f of FIELDS) {
      const v = (d as Record<string, unknown>)[f];
      if (typeof v === 'string' && v !== '') m[f] = v;
    }
    const undecided = (d as Record<string, unknown>).undecided;
    if (typeof undecided === 'string' && undecided !== '') m.undecided = undecided;
    return m;
  });
}
