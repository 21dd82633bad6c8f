/**
 * `--record`: what one run saw, written into the scenario as its expectations, so a user edits
 * expectations rather than writing them. Per probe: what the client saw (connect, error class,
 * and the kind's own: bytes and end for tcp, curl's exit code and status for http), the conntrack
 * path, the sidecar's path (Istio's simulation with real Istio, else the model's trace), and the
 * listener and cluster stats that moved. Each says it was recorded, with which sidecar. Pure: the
 * YAML text in, the YAML text out (comments and layout kept).
 */
import { isMap, isSeq, parseDocument } from 'yaml';
import { redirectPort } from '../evidence/conntrack.ts';
import type { ProbeOutcome, ScenarioOutcome } from '../result/outcome.ts';
import type { PathMatch } from '../model/pathMatch.ts';

/** Stats whose move tells where a connection went: the listener took it, the cluster connected or had nothing healthy, the request's status. */
const TELLING_STATS =
  /^(listener\.[^.]+(?:\.[^.]+)*_\d+\.downstream_cx_total|cluster\.[^.].*\.(upstream_cx_total|upstream_cx_none_healthy|upstream_cx_connect_fail|upstream_rq_\dxx))$/;

/** Envoy's per-worker copies (listener.X.worker_0.downstream_cx_total) depend on which thread took the connection. */
const PER_WORKER = /\.worker_\d+\./;

function clientExpect(o: ProbeOutcome): Record<string, unknown> {
  const r = o.result!;
  const e: Record<string, unknown> = { connect: r.connect, errorClass: r.errorClass };
  if (r.kind === 'tcp') Object.assign(e, { bytes: r.receivedBytes, end: r.end });
  if (r.kind === 'http') Object.assign(e, { exitCode: r.exitCode, ...(r.httpStatus !== undefined ? { status: r.httpStatus } : {}) });
  return e;
}

function conntrackExpect(o: ProbeOutcome): Record<string, unknown> | undefined {
  const legs = o.legs;
  if (!legs?.client) return undefined;
  const port = redirectPort(legs.client);
  const e: Record<string, unknown> = { path: port === undefined ? 'direct' : 'redirected', legs: 1 + legs.others.length };
  if (port !== undefined && port !== 15001) e.redirectPort = port;
  if (port !== undefined)
    e.upstream = legs.others.length === 0 ? 'none' : `${legs.others[0]!.original.dst}:${legs.others[0]!.original.dport}`;
  return e;
}

function statsExpect(o: ProbeOutcome): Record<string, string> | undefined {
  const moved = Object.entries(o.statsDiff ?? {}).filter(([name, by]) => by > 0 && TELLING_STATS.test(name) && !PER_WORKER.test(name));
  return moved.length ? Object.fromEntries(moved.sort(([a], [b]) => a.localeCompare(b)).map(([name, by]) => [name, `+${by}`])) : undefined;
}

function pathExpect(o: ProbeOutcome): PathMatch | undefined {
  const m = o.istioPath ?? o.trace?.match;
  if (!m) return undefined;
  const { listener, cluster, error } = m;
  const e = { ...(listener ? { listener } : {}), ...(cluster ? { cluster } : {}), ...(error ? { error } : {}) };
  return Object.keys(e).length ? e : undefined;
}

/** One probe's expectations from what it saw (undefined when it did not run). */
export function recordedExpect(
  o: ProbeOutcome,
  sidecar: string,
  when: string,
  by = 'recorded by egress-lab --record',
): Record<string, unknown> | undefined {
  if (!o.result) return undefined;
  const conntrack = conntrackExpect(o);
  const stats = statsExpect(o);
  const path = pathExpect(o);
  return {
    client: clientExpect(o),
    ...(conntrack ? { conntrack } : {}),
    ...(stats ? { stats } : {}),
    ...(path ? { path } : {}),
    basis: 'observed',
    note: `${by} on ${when} with ${sidecar}`,
  };
}

/** The scenario text with each probe's expect replaced by what the run saw; probes that did not run keep theirs. */
export function recordIntoScenario(text: string, outcome: ScenarioOutcome, when: string): { text: string; recorded: string[] } {
  const doc = parseDocument(text);
  const probes = doc.get('probes', true);
  if (!isSeq(probes)) throw new Error('the scenario has no probes list');
  const recorded: string[] = [];
  const sidecar = outcome.sidecar?.describe ?? outcome.backend;
  for (const item of probes.items) {
    if (!isMap(item)) continue;
    const name = String(item.get('name'));
    const o = outcome.probes.find((p) => p.probe.name === name);
    const expect = o ? recordedExpect(o, sidecar, when) : undefined;
    if (!expect) continue;
    item.set('expect', doc.createNode(expect));
    recorded.push(name);
  }
  return { text: doc.toString({ lineWidth: 0 }), recorded };
}
