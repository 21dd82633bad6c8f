/**
 * Named outcomes: what the sidecar did with a probe's connection, in one word, expanded into the
 * conntrack and stats checks that word implies (like the named expectations of cilium-cli's
 * connectivity checks). A scenario says `outcome: passthrough` instead of repeating, per port, the
 * same conntrack block and the same PassthroughCluster counter. Fields the scenario writes itself
 * win over the expansion, and its own stats are added to the expansion's.
 *
 * - passthrough: redirected to the sidecar, which opened its own connection to the original
 *   destination (two conntrack legs, the second to the address the client dialled) through
 *   PassthroughCluster.
 * - blackhole: redirected, then closed by the sidecar with no upstream connection: TCP through
 *   BlackHoleCluster (no endpoints, so upstream_cx_none_healthy), or, for plain HTTP, whatever
 *   block_all answers; nothing reaches PassthroughCluster.
 * - local-reply: redirected, and the sidecar answered by itself (the HTTP codec's 400, a
 *   direct_response, a 404 for no virtual host); no upstream leg, nothing through PassthroughCluster.
 * - direct: iptables did not redirect it; one leg straight to the destination, the sidecar untouched.
 * - service: redirected, and sent to a mesh cluster (a Service or ServiceEntry), not PassthroughCluster;
 *   the upstream is the cluster's endpoint, which the scenario names if it wants it checked.
 *
 * Pure: the probe's target and the stats era in, the checks out.
 */
import { isIPv4 } from 'node:net';
import { clusterStat, type StatsEra } from '../core/stats.ts';
import type { ProbeTarget } from '../probes/probeType.ts';

export const NAMED_OUTCOMES = ['passthrough', 'blackhole', 'local-reply', 'direct', 'service'] as const;
export type NamedOutcome = (typeof NAMED_OUTCOMES)[number];

export interface ConntrackImplied {
  path: 'redirected' | 'direct';
  legs: number;
  upstream?: string;
}

export interface OutcomeChecks {
  conntrack: ConntrackImplied;
  stats: Record<string, string>;
}

export function expandOutcome(outcome: NamedOutcome, target: ProbeTarget, era: StatsEra): OutcomeChecks {
  // A plain HTTP request goes through the HTTP connection manager, whose upstream connections are
  // pooled and reused: count requests there, connections everywhere else.
  const traffic = target.scheme === 'http' ? 'upstream_rq_total' : 'upstream_cx_total';
  const passthrough = (delta: string) => ({ [clusterStat('PassthroughCluster', traffic, era)]: delta });
  const dialled = isIPv4(target.host) ? `${target.host}:${target.port}` : undefined;
  switch (outcome) {
    case 'passthrough':
      return { conntrack: { path: 'redirected', legs: 2, ...(dialled ? { upstream: dialled } : {}) }, stats: passthrough('+1') };
    case 'blackhole':
      return {
        conntrack: { path: 'redirected', legs: 1, upstream: 'none' },
        stats: target.scheme === 'http' ? passthrough('+0') : { [clusterStat('BlackHoleCluster', 'upstream_cx_none_healthy', era)]: '+1' },
      };
    case 'local-reply':
      return { conntrack: { path: 'redirected', legs: 1, upstream: 'none' }, stats: passthrough('+0') };
    case 'direct':
      return { conntrack: { path: 'direct', legs: 1, upstream: 'none' }, stats: passthrough('+0') };
    case 'service':
      return { conntrack: { path: 'redirected', legs: 2 }, stats: passthrough('+0') };
  }
}

/** The expectation with its named outcome expanded; what the scenario wrote itself wins. */
export function withOutcome<E extends { outcome?: NamedOutcome; conntrack?: object; stats?: Record<string, string | number> }>(
  expect: E,
  target: ProbeTarget,
  era: StatsEra,
): E {
  if (!expect.outcome) return expect;
  const implied = expandOutcome(expect.outcome, target, era);
  return { ...expect, conntrack: { ...implied.conntrack, ...expect.conntrack }, stats: { ...implied.stats, ...expect.stats } };
}
