/**
 * Judging a probe: each expectation in the scenario becomes a Check with what was expected, what
 * was seen, and whether they agree. Pure: it reads the probe result, the conntrack legs and the
 * stats difference.
 */
import type { ClientExpect, ConntrackExpect, Expect, PathExpect, PodAssertion } from '../scenario/schema.ts';
import { MATCH_FIELDS, type PathMatch } from '../model/pathTrace.ts';
import type { ProbeResult } from '../probes/result.ts';
import { typeClientChecks } from '../probes/registry.ts';
import { describeLeg, redirectPort, type ProbeLegs } from '../evidence/conntrack.ts';

export interface Check {
  evidence: 'client' | 'conntrack' | 'stats' | 'path' | 'iptables';
  what: string;
  expected: string;
  seen: string;
  ok: boolean;
  basis: 'observed' | 'reasoned';
}

const show = (s: string) => JSON.stringify(s);

/** The expectations every kind has (connect, end, duration, error class), then the kind module's own. */
export function checkClient(e: ClientExpect, r: ProbeResult, basis: Check['basis']): Check[] {
  const checks: Array<Omit<Check, 'evidence' | 'basis'>> = [];
  const add = (what: string, expected: string, seen: string, ok: boolean) => checks.push({ what, expected, seen, ok });
  if (e.connect) add('connect', e.connect, r.connect, r.connect === e.connect);
  checks.push(...typeClientChecks(r.kind, e, r));
  if (e.end) {
    const allowed = Array.isArray(e.end) ? e.end : [e.end];
    add('connection end', allowed.join(' or '), r.end, (allowed as string[]).includes(r.end));
  }
  if (e.durationMs) {
    const { min = 0, max = Infinity } = e.durationMs;
    add('duration', `${min}..${max === Infinity ? '' : max} ms`, `${r.durationMs} ms`, r.durationMs >= min && r.durationMs <= max);
  }
  if (e.errorClass) {
    const allowed = Array.isArray(e.errorClass) ? e.errorClass : [e.errorClass];
    add('error class', allowed.join(' or '), r.errorClass, allowed.includes(r.errorClass));
  }
  return checks.map((c) => ({ evidence: 'client', ...c, basis }));
}

export function checkConntrack(e: ConntrackExpect, legs: ProbeLegs, basis: Check['basis']): Check[] {
  const checks: Check[] = [];
  const add = (what: string, expected: string, seen: string, ok: boolean) =>
    checks.push({ evidence: 'conntrack', what, expected, seen, ok, basis });
  const client = legs.client;
  const clientSeen = client ? describeLeg(client) : 'no conntrack entry for the client connection';
  if (e.path) {
    const port = client ? redirectPort(client) : undefined;
    const seen = !client ? 'absent' : port !== undefined ? `redirected to ${port}` : 'direct';
    const want = e.path === 'redirected' ? `redirected to ${e.redirectPort ?? 15001}` : 'direct';
    add('client leg', want, `${seen}: ${clientSeen}`, seen === want);
  }
  const count = (client ? 1 : 0) + legs.others.length;
  if (e.legs !== undefined) {
    add(
      'legs',
      String(e.legs),
      `${count}: ${
        [client, ...legs.others]
          .filter(Boolean)
          .map((l) => describeLeg(l!))
          .join(' | ') || 'none'
      }`,
      count === e.legs,
    );
  }
  if (e.upstream !== undefined) {
    const targets = legs.others.map((l) => `${l.original.dst}:${l.original.dport}`);
    const ok = e.upstream === 'none' ? targets.length === 0 : targets.includes(e.upstream);
    add(
      'upstream leg',
      e.upstream === 'none' ? 'no second leg' : `a leg to ${e.upstream}`,
      targets.length ? targets.join(', ') : 'no second leg',
      ok,
    );
  }
  return checks;
}

/**
 * "+N": changed by exactly N; ">=N": changed by at least N; a number: the value after the probe.
 *
 * With `listsEveryName` (real Envoy), a stat whose whole scope is absent from /stats fails
 * whatever is expected: no stat of `listener.0.0.0.0_3306.` means there is no such listener, and a
 * check of it could not fail. A missing name inside a scope that exists reads as 0: Istio's
 * bootstrap turns on deferred stat creation (`enable_deferred_creation_stats`), so a cluster's
 * traffic counters appear only when it first carries traffic.
 */
export function checkStats(
  e: Record<string, number | string>,
  diff: Map<string, number> | undefined,
  after: Map<string, number> | undefined,
  basis: Check['basis'],
  listsEveryName = false,
): Check[] {
  return Object.entries(e).map(([name, want]) => {
    const delta = diff?.get(name) ?? 0;
    const value = after?.get(name) ?? 0;
    const expected = String(want);
    // No sidecar: no stat can have moved, which satisfies exactly the expectations of zero.
    if (!after)
      return {
        evidence: 'stats' as const,
        what: name,
        expected,
        seen: 'no sidecar in this pod',
        ok: want === '+0' || want === 0 || want === '>=0',
        basis,
      };
    if (listsEveryName && !after.has(name) && !scopeExists(name, after)) {
      return {
        evidence: 'stats' as const,
        what: name,
        expected,
        seen: `no stat of ${statScope(name)} exists in the sidecar's /stats`,
        ok: false,
        basis,
      };
    }
    let ok: boolean;
    let seen: string;
    if (typeof want === 'number') {
      ok = value === want;
      seen = String(value);
    } else {
      ok = want.startsWith('>=') ? delta >= Number(want.slice(2)) : delta === Number(want.slice(1));
      seen = `${delta >= 0 ? '+' : ''}${delta}`;
    }
    return { evidence: 'stats' as const, what: name, expected, seen, ok, basis };
  });
}

/** `cluster.PassthroughCluster;.upstream_cx_total` → `cluster.PassthroughCluster;.` (up to the last dot). */
export function statScope(name: string): string {
  return name.slice(0, name.lastIndexOf('.') + 1);
}

function scopeExists(name: string, stats: Map<string, number>): boolean {
  const scope = statScope(name);
  for (const k of stats.keys()) if (k.startsWith(scope)) return true;
  return false;
}

/**
 * The path by name against the one the run's sidecar engine gives (`source`: the model's trace, or
 * Istio's simulation); "none" expects the field to be absent.
 */
export function checkPath(e: PathExpect, seen: PathMatch | undefined, source: string, basis: Check['basis']): Check[] {
  return MATCH_FIELDS.filter((f) => e[f] !== undefined).map((f) => {
    const want = e[f]!;
    const got = seen?.[f];
    // Route and cluster the simulation could not decide are not "none": the check fails and says why.
    const undecided = (f === 'route' || f === 'cluster') && seen?.undecided !== undefined;
    const ok = seen !== undefined && !undecided && (want === 'none' ? got === undefined : got === want);
    return {
      evidence: 'path' as const,
      what: `${f} (${source})`,
      expected: want,
      seen: seen === undefined ? `no path: ${source} gave none` : undecided ? `undecided: ${seen.undecided}` : (got ?? 'none'),
      ok,
      basis,
    };
  });
}

/** A kind of evidence not named in a per-kind basis is observed, except the path, which is the model's reasoning unless said. */
export function basisOf(e: Expect, kind: 'client' | 'conntrack' | 'stats' | 'path'): Check['basis'] {
  return typeof e.basis === 'string' ? e.basis : (e.basis[kind] ?? (kind === 'path' ? 'reasoned' : 'observed'));
}

export function checkProbe(
  e: Expect,
  r: ProbeResult,
  legs: ProbeLegs,
  diff: Map<string, number> | undefined,
  after: Map<string, number> | undefined,
  statsListEveryName = false,
): Check[] {
  return [
    ...(e.client ? checkClient(e.client, r, basisOf(e, 'client')) : []),
    ...(e.conntrack ? checkConntrack(e.conntrack, legs, basisOf(e, 'conntrack')) : []),
    ...(e.stats ? checkStats(e.stats, diff, after, basisOf(e, 'stats'), statsListEveryName) : []),
  ];
}

/** Lines that must (or must not) appear in the pod's iptables-save. */
export function checkIptablesSave(a: PodAssertion, saved: string): Check[] {
  const lines = saved.split('\n').map((l) => l.trim());
  const spec = a.iptablesSave ?? { contains: [], absent: [] };
  return [
    ...spec.contains.map((rule) => ({
      evidence: 'iptables' as const,
      what: `${a.workload} iptables-save`,
      expected: `contains ${show(rule)}`,
      seen: lines.includes(rule) ? 'present' : 'absent',
      ok: lines.includes(rule),
      basis: a.basis,
    })),
    ...spec.absent.map((rule) => ({
      evidence: 'iptables' as const,
      what: `${a.workload} iptables-save`,
      expected: `no ${show(rule)}`,
      seen: lines.includes(rule) ? 'present' : 'absent',
      ok: !lines.includes(rule),
      basis: a.basis,
    })),
  ];
}
