/**
 * The kind probe scripts against the lab's probe agent: the same connection, made once by each,
 * must give the same ProbeResult, except where the kind's tools cannot observe what the agent's
 * clients do (each probe type names those, `shellLimits`). Pure; the lab run that feeds it is
 * test/lab/kindCommandsInLab.test.ts.
 */
import { COMPARED_FIELDS, type ComparedField } from '../probes/probeType.ts';
import type { ProbeResult } from '../probes/result.ts';
import { shellLimits } from '../probes/registry.ts';
import { readGreeting } from '../probes/mysql.ts';
import { declaredRace } from '../result/compare.ts';
import type { Probe } from '../scenario/schema.ts';

export interface FieldComparison {
  field: ComparedField;
  lab: unknown;
  kind: unknown;
  /** Why the difference is expected (the kind's shell limit), when it is. */
  allowed?: string;
}

/**
 * Values that change from one connection to the next and say nothing about the path: request ids
 * and Envoy's upstream service time in an echoed body, a MySQL greeting's thread id and scramble
 * read by a raw client. Both sides are normalised before they are compared.
 */
function steady(field: ComparedField, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (field === 'received') {
    const greeting = readGreeting(Buffer.from(value, 'latin1'));
    return greeting.kind === 'greeting' ? `a MySQL greeting from ${greeting.version}, ${value.length} bytes` : value;
  }
  if (field !== 'body') return value;
  return value
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
    .replace(/"X-Envoy-Upstream-Service-Time":\s*\["?\d+"?\]/gi, '"X-Envoy-Upstream-Service-Time": <ms>');
}

/**
 * HTTP responses carry per-request header values (date, x-envoy-upstream-service-time: 3 or 12,
 * x-request-id) whose lengths vary by a few bytes; a path difference changes far more (a 502 from
 * the sidecar against a server's 200).
 */
const HTTP_BYTES_SLACK = 16;

function same(field: ComparedField, lab: ProbeResult, kind: ProbeResult, probe?: Probe): boolean {
  const a = lab[field];
  const b = kind[field];
  // A race the scenario declares (a BlackHole closes with FIN or RST, depending on timing) is no difference.
  const race = declaredRace(probe, field);
  if (race.includes(String(a)) && race.includes(String(b))) return true;
  // Ports never repeat: what must agree is whether the client had one (the conntrack legs prove it is the right one).
  if (field === 'localPort') return (a === undefined) === (b === undefined);
  if (field === 'receivedBytes' && lab.kind === 'http') return Math.abs(Number(a) - Number(b)) <= HTTP_BYTES_SLACK;
  return JSON.stringify(steady(field, a)) === JSON.stringify(steady(field, b));
}

/** Every compared field where the two differ, each marked allowed (with why) or not; `probe` gives the races it declares. */
export function compareWithLab(lab: ProbeResult, kind: ProbeResult, probe?: Probe): FieldComparison[] {
  const limits = shellLimits(lab.kind);
  return COMPARED_FIELDS.filter((f) => !same(f, lab, kind, probe)).map((field) => ({
    field,
    lab: lab[field],
    kind: kind[field],
    ...(limits[field] ? { allowed: limits[field] } : {}),
  }));
}

/** "errorClass: lab \"none\", kind \"timeout\"" lines for the differences that are not allowed. */
export function unexplained(diffs: FieldComparison[]): string[] {
  return diffs.filter((d) => !d.allowed).map((d) => `${d.field}: lab ${JSON.stringify(d.lab)}, kind ${JSON.stringify(d.kind)}`);
}
