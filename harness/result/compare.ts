/**
 * Two runs of the same scenario compared probe by probe: `--backend both` (the embedded lab and
 * kind) and `--sidecar both` (the lab's model and real Envoy). The point is fidelity: where the
 * TypeScript sidecar and real Istio disagree, show both. The fields say lab and kind; the rendered
 * text uses the two sides' own names.
 *
 * Compared per probe:
 * - outcome: connect, end, errorClass, exitCode, httpStatus;
 * - bytes: the received text (exact) and its length, and the Redis/MySQL reply when either has one;
 * - conntrack shape: number of legs, the client leg redirected (to which port) or direct, whether an
 *   upstream leg exists. Addresses are not compared: kind's servers have Docker's addresses;
 * - stats that moved: per name, the delta on each side (absent = 0). A name only one side can have
 *   at all (real Envoy's `server.*`, `cluster.xds-grpc.*`, stats the model does not keep, or a
 *   name kind's stats inclusion list drops) is not a difference; it is listed separately;
 * - path: listener, filter chain, route configuration, virtual host, route and cluster by name,
 *   from each side's own engine (the model's trace; Istio's simulation on real Istio).
 */
import type { ProbeOutcome, ScenarioOutcome } from './outcome.ts';
import type { ProbeResult } from '../probes/result.ts';
import type { Probe } from '../scenario/schema.ts';
import { redirectPort, type ProbeLegs } from '../evidence/conntrack.ts';
import { MATCH_FIELDS, type PathMatch } from '../model/pathTrace.ts';
import { describeMatch } from '../model/pathDrawing.ts';
import { MESH_STATS_PREFIXES } from '../core/stats.ts';

export type Aspect = 'run' | 'outcome' | 'bytes' | 'conntrack' | 'stats' | 'path';

export interface Difference {
  aspect: Aspect;
  /** e.g. `end`, `received`, `legs`, or the stat name. */
  field: string;
  lab: string;
  kind: string;
}

export interface OneSidedStat {
  name: string;
  delta: number;
}

export interface ProbeDiff {
  probe: string;
  agree: boolean;
  differences: Difference[];
  /** One short line per aspect both sides agreed on. */
  agreed: Array<{ aspect: Aspect; summary: string }>;
  /** Stats that moved on one side and that the other side cannot have: listed, not compared. */
  oneSidedStats: { lab: OneSidedStat[]; kind: OneSidedStat[] };
}

export interface CompareOptions {
  /** Whether the lab's model can emit this stat at all (default: LAB_STAT_PATTERNS). */
  labCanHave?: (name: string) => boolean;
  /** Whether kind's sidecar can report this stat at all (default: KIND_STAT_PREFIXES). */
  kindCanHave?: (name: string) => boolean;
}

/**
 * The stats the lab's sidecar model emits (harness/sidecar: tcp proxy, HTTP manager, inspector,
 * listener counters), for the clusters the model builds (Passthrough, BlackHole, outbound|..., inbound|...).
 * Real Envoy has many more (upstream_cx_active, upstream_cx_destroy_remote, cluster.xds-grpc.*, ...);
 * those are kind-only, not disagreements.
 */
const MODEL_CLUSTER = String.raw`(?:PassthroughCluster|BlackHoleCluster|(?:outbound|inbound)\|.+);?`;

export const LAB_STAT_PATTERNS: RegExp[] = [
  new RegExp(
    String.raw`^cluster\.${MODEL_CLUSTER}\.(upstream_cx_total|upstream_cx_none_healthy|upstream_cx_connect_fail|upstream_cx_tx_bytes_total|upstream_cx_rx_bytes_total|upstream_rq_total|upstream_rq_timeout|upstream_rq_\d{3})$`,
  ),
  // Per-worker copies (worker_N, main_thread) are Envoy's alone.
  /^listener\.(?!.*\.(?:worker_\d+|main_thread)\.).+\.(downstream_cx_total|downstream_listener_filter_remote_close)$/,
  new RegExp(String.raw`^tcp\.${MODEL_CLUSTER}\.downstream_cx_total$`),
  /^http\..+\.(downstream_cx_total|downstream_cx_protocol_error|downstream_rq_total|downstream_rq_[1-5]xx|rq_direct_response)$/,
  /^http_inspector\.http(10|11|2)?_(found|not_found)$/,
];

/**
 * What a real Istio 1.30 sidecar on kind reports: Envoy's stats_matcher is an inclusion list
 * (pkg/bootstrap/config.go). Istio's defaults plus the prefixes the kind backend adds with
 * proxyStatsMatcher (core/stats.ts MESH_STATS_PREFIXES).
 */
export const KIND_STAT_PREFIXES: string[] = [
  // Istio's default inclusion list, then what the backend asks for.
  'reporter=',
  'cluster_manager',
  'listener_manager',
  'server',
  'cluster.xds-grpc',
  'wasm',
  'component',
  'istio',
  ...MESH_STATS_PREFIXES,
];

const labDefault = (name: string) => LAB_STAT_PATTERNS.some((p) => p.test(name));
const kindDefault = (name: string) => KIND_STAT_PREFIXES.some((p) => name.startsWith(p));

const show = (s: string) => JSON.stringify(s);
const clip = (s: string, n = 160) => (s.length > n ? `${s.slice(0, n)}…` : s);
const opt = (v: string | number | undefined) => (v === undefined ? 'none' : String(v));

function outcomeFields(r: ProbeResult): Array<[string, string]> {
  return [
    ['connect', r.connect],
    ['end', r.end],
    ['errorClass', r.errorClass],
    ['exitCode', opt(r.exitCode)],
    ['httpStatus', opt(r.httpStatus)],
  ];
}

/**
 * Values the scenario declares a race for (e.g. `end: [eof, reset]`): any two of them agree. A raw
 * TCP probe's error class is its end (eof, reset), and a client's `closed`/`reset` is how it ended,
 * so a race of one is a race of the other.
 */
export function declaredRace(probe: Probe | undefined, field: string): string[] {
  const c = probe?.expect.client;
  const list = (v: string | string[] | undefined) => (Array.isArray(v) ? v : []);
  // A client library's error class names how the connection ended: closed is a FIN, reset a RST.
  const endOf: Record<string, string> = { closed: 'eof', eof: 'eof', reset: 'reset' };
  if (field === 'end') return [...list(c?.end), ...list(c?.errorClass).map((e) => endOf[e] ?? e)];
  if (field === 'errorClass') return [...list(c?.errorClass), ...list(c?.end)];
  return [];
}

function compareOutcome(lab: ProbeResult, kind: ProbeResult, d: ProbeDiff, probe?: Probe): void {
  const l = outcomeFields(lab);
  const k = outcomeFields(kind);
  let same = true;
  l.forEach(([field, lv], i) => {
    const kv = k[i]![1];
    const race = declaredRace(probe, field);
    if (lv !== kv && !(race.includes(lv) && race.includes(kv))) {
      same = false;
      d.differences.push({ aspect: 'outcome', field, lab: lv, kind: kv });
    }
  });
  if (same) {
    const shown = l
      .filter(([f, v]) => !(f === 'exitCode' || f === 'httpStatus') || v !== 'none')
      .map(([f, v], i) => (v === k[i]![1] ? `${f} ${v}` : `${f} ${v}/${k[i]![1]} (a declared race)`));
    d.agreed.push({ aspect: 'outcome', summary: shown.join(', ') });
  }
}

/**
 * A MySQL server greeting (protocol 10) carries a connection id and a random scramble that differ
 * on every connection; they are masked so that two greetings of the same server compare equal.
 */
export function maskMysqlGreeting(received: string): string {
  if (received.length < 5 || received.charCodeAt(4) !== 0x0a) return received;
  const versionEnd = received.indexOf('\0', 5);
  if (versionEnd < 0) return received;
  const idAt = versionEnd + 1;
  const part1 = idAt + 4;
  const afterPart1 = part1 + 9; // 8 bytes and a NUL
  const authLenAt = afterPart1 + 2 + 1 + 2 + 2;
  const part2 = authLenAt + 1 + 10;
  const part2Len = Math.max(13, received.charCodeAt(authLenAt) - 8);
  if (received.length < part2 + part2Len) return received;
  const mask = (from: number, n: number, text: string) => text.slice(0, from) + '*'.repeat(n) + text.slice(from + n);
  return mask(part2, part2Len - 1, mask(part1, 8, mask(idAt, 4, received)));
}

function compareBytes(lab: ProbeResult, kind: ProbeResult, d: ProbeDiff): void {
  let same = true;
  if (maskMysqlGreeting(lab.received) !== maskMysqlGreeting(kind.received)) {
    same = false;
    d.differences.push({ aspect: 'bytes', field: 'received', lab: show(clip(lab.received)), kind: show(clip(kind.received)) });
  }
  if (lab.receivedBytes !== kind.receivedBytes) {
    same = false;
    d.differences.push({ aspect: 'bytes', field: 'length', lab: String(lab.receivedBytes), kind: String(kind.receivedBytes) });
  }
  if ((lab.reply !== undefined || kind.reply !== undefined) && lab.reply !== kind.reply) {
    same = false;
    d.differences.push({
      aspect: 'bytes',
      field: 'reply',
      lab: lab.reply === undefined ? 'none' : show(clip(lab.reply)),
      kind: kind.reply === undefined ? 'none' : show(clip(kind.reply)),
    });
  }
  if (same) {
    const text = lab.receivedBytes === 0 ? 'nothing received' : `${lab.receivedBytes} bytes ${show(clip(lab.received, 40))}`;
    d.agreed.push({ aspect: 'bytes', summary: lab.reply !== undefined ? `${text}, reply ${show(clip(lab.reply, 40))}` : text });
  }
}

export interface ConntrackShape {
  legs: number;
  /** `redirected to 15001`, `direct`, or `absent` (no entry for the client's connection). */
  client: string;
  upstream: boolean;
}

export function conntrackShape(legs: ProbeLegs): ConntrackShape {
  const c = legs.client;
  const port = c ? redirectPort(c) : undefined;
  return {
    legs: (c ? 1 : 0) + legs.others.length,
    client: !c ? 'absent' : port !== undefined ? `redirected to ${port}` : 'direct',
    upstream: legs.others.length > 0,
  };
}

function compareConntrack(lab: ProbeLegs | undefined, kind: ProbeLegs | undefined, d: ProbeDiff): void {
  if (!lab || !kind) {
    if (lab || kind)
      d.differences.push({ aspect: 'conntrack', field: 'table', lab: lab ? 'read' : 'not read', kind: kind ? 'read' : 'not read' });
    return;
  }
  const l = conntrackShape(lab);
  const k = conntrackShape(kind);
  const fields: Array<[string, string, string]> = [
    ['legs', String(l.legs), String(k.legs)],
    ['client leg', l.client, k.client],
    ['upstream leg', l.upstream ? 'present' : 'absent', k.upstream ? 'present' : 'absent'],
  ];
  const diffs = fields.filter(([, a, b]) => a !== b);
  for (const [field, a, b] of diffs) d.differences.push({ aspect: 'conntrack', field, lab: a, kind: b });
  if (diffs.length === 0)
    d.agreed.push({ aspect: 'conntrack', summary: `${l.legs} leg(s), client ${l.client}, upstream ${l.upstream ? 'present' : 'absent'}` });
}

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

function compareStats(
  labDiff: Record<string, number> | undefined,
  kindDiff: Record<string, number> | undefined,
  d: ProbeDiff,
  opts: Required<CompareOptions>,
): void {
  if (!labDiff || !kindDiff) {
    if (labDiff || kindDiff)
      d.differences.push({
        aspect: 'stats',
        field: 'stats',
        lab: labDiff ? 'read' : 'no sidecar stats',
        kind: kindDiff ? 'read' : 'no sidecar stats',
      });
    return;
  }
  const lab = new Map(Object.entries(labDiff));
  const kind = new Map(Object.entries(kindDiff));
  const names = [...new Set([...lab.keys(), ...kind.keys()])].sort();
  let alike = 0;
  const diffs: Difference[] = [];
  for (const name of names) {
    const lv = lab.get(name) ?? 0;
    const kv = kind.get(name) ?? 0;
    const labCan = opts.labCanHave(name);
    const kindCan = opts.kindCanHave(name);
    if (!labCan || !kindCan) {
      if (lv !== 0) d.oneSidedStats.lab.push({ name, delta: lv });
      if (kv !== 0) d.oneSidedStats.kind.push({ name, delta: kv });
      continue;
    }
    // Byte counters depend on header sets and TLS handshakes that legitimately differ by a few
    // bytes from run to run: moving on both sides is agreement.
    if (lv === kv || (/_bytes_total$/.test(name) && lv > 0 && kv > 0)) alike++;
    else diffs.push({ aspect: 'stats', field: name, lab: signed(lv), kind: signed(kv) });
  }
  d.differences.push(...diffs);
  if (diffs.length === 0)
    d.agreed.push({ aspect: 'stats', summary: alike === 0 ? 'no comparable stat moved' : `${alike} stat(s) moved alike` });
}

function emptyDiff(probe: string): ProbeDiff {
  return { probe, agree: true, differences: [], agreed: [], oneSidedStats: { lab: [], kind: [] } };
}

type EnginePath = { match: PathMatch; waits: boolean };

/**
 * The path a side's own engine gives the connection: Istio's simulation of istiod's config on
 * real Istio, the trace on the model. A cluster's sidecar (kind) has neither: the lab computes the
 * model's trace for every run, and comparing it with itself would say nothing.
 */
function enginePath(o: ProbeOutcome, engine: string | undefined): EnginePath | undefined {
  if (o.istioPath) return { match: o.istioPath, waits: false };
  if (engine === 'model' && o.trace) return { match: o.trace.match, waits: o.trace.outcome === 'waits' };
  return undefined;
}

/**
 * Field by field, like pilot/pkg/simulation's Result. Istio's simulation assumes the client speaks
 * first; where the model says the listener filters wait for a server-first client (MySQL), only
 * the listener can be compared.
 */
function comparePath(lab: EnginePath | undefined, kind: EnginePath | undefined, d: ProbeDiff): void {
  if (!lab || !kind) return;
  const waits = lab.waits || kind.waits;
  const fields = waits ? (['listener'] as const) : MATCH_FIELDS;
  const diffs = fields
    .filter((f) => lab.match[f] !== kind.match[f])
    .map((f) => ({ aspect: 'path' as const, field: f, lab: lab.match[f] ?? 'none', kind: kind.match[f] ?? 'none' }));
  d.differences.push(...diffs);
  if (diffs.length === 0)
    d.agreed.push({
      aspect: 'path',
      summary: `${describeMatch(lab.match)}${waits ? ' (the listener filters wait: later matches not compared)' : ''}`,
    });
}

function compareProbe(
  lab: ProbeOutcome,
  kind: ProbeOutcome,
  opts: Required<CompareOptions>,
  engines: { lab?: string; kind?: string } = {},
): ProbeDiff {
  const d = emptyDiff(lab.probe.name);
  if (!lab.result || !kind.result) {
    const why = (o: ProbeOutcome) => (o.result ? 'ran' : `did not run: ${o.error ?? 'no result'}`);
    d.differences.push({ aspect: 'run', field: 'result', lab: why(lab), kind: why(kind) });
  } else {
    compareOutcome(lab.result, kind.result, d, lab.probe);
    compareBytes(lab.result, kind.result, d);
  }
  compareConntrack(lab.legs, kind.legs, d);
  compareStats(lab.statsDiff, kind.statsDiff, d, opts);
  comparePath(enginePath(lab, engines.lab), enginePath(kind, engines.kind), d);
  d.agree = d.differences.length === 0;
  return d;
}

/** Per probe of either run (lab order first, then probes only kind has), what agrees and what not. */
export function compareOutcomes(lab: ScenarioOutcome, kind: ScenarioOutcome, options: CompareOptions = {}): ProbeDiff[] {
  const opts: Required<CompareOptions> = { labCanHave: options.labCanHave ?? labDefault, kindCanHave: options.kindCanHave ?? kindDefault };
  const kindByName = new Map(kind.probes.map((p) => [p.probe.name, p]));
  const labNames = new Set(lab.probes.map((p) => p.probe.name));
  const missing = (o: ScenarioOutcome) => `not run${o.error ? `: ${o.error}` : ''}`;
  const diffs: ProbeDiff[] = lab.probes.map((l) => {
    const k = kindByName.get(l.probe.name);
    if (k) return compareProbe(l, k, opts, { lab: lab.sidecar?.engine, kind: kind.sidecar?.engine });
    const d = emptyDiff(l.probe.name);
    d.differences.push({
      aspect: 'run',
      field: 'probe',
      lab: l.result ? 'ran' : `did not run: ${l.error ?? 'no result'}`,
      kind: missing(kind),
    });
    d.agree = false;
    return d;
  });
  for (const k of kind.probes.filter((p) => !labNames.has(p.probe.name))) {
    const d = emptyDiff(k.probe.name);
    d.differences.push({
      aspect: 'run',
      field: 'probe',
      lab: missing(lab),
      kind: k.result ? 'ran' : `did not run: ${k.error ?? 'no result'}`,
    });
    d.agree = false;
    diffs.push(d);
  }
  return diffs;
}

/**
 * A block per probe: `= name: agree` with one short line per aspect, or `≠ name: N difference(s)`
 * with each difference as `✗ aspect field: lab X | kind Y` and the aspects that agreed; then the
 * one-sided stats, if any; then a last line counting the probes that disagree.
 */
export function renderComparison(diffs: ProbeDiff[], names: { a: string; b: string } = { a: 'lab', b: 'kind' }): string {
  if (diffs.length === 0) return 'no probes to compare\n';
  const lines: string[] = [];
  for (const d of diffs) {
    if (d.agree) {
      lines.push(`= ${d.probe}: agree`);
      for (const a of d.agreed) lines.push(`    ${a.aspect}: ${a.summary}`);
    } else {
      lines.push(`≠ ${d.probe}: ${d.differences.length} difference(s)`);
      for (const x of d.differences) lines.push(`    ✗ ${x.aspect} ${x.field}: ${names.a} ${x.lab} | ${names.b} ${x.kind}`);
      for (const a of d.agreed) lines.push(`    = ${a.aspect}: ${a.summary}`);
    }
    for (const side of ['lab', 'kind'] as const) {
      const list = d.oneSidedStats[side];
      const name = side === 'lab' ? names.a : names.b;
      if (list.length > 0)
        lines.push(
          `    ${name}-only stats (the other side cannot have them, not compared): ${list.map((s) => `${s.name} ${signed(s.delta)}`).join(', ')}`,
        );
    }
  }
  const disagree = diffs.filter((d) => !d.agree).length;
  const both = `${names.a} and ${names.b}`;
  lines.push(
    disagree === 0 ? `${both} agree on all ${diffs.length} probe(s)` : `${both} disagree on ${disagree} of ${diffs.length} probe(s)`,
  );
  return lines.join('\n') + '\n';
}
