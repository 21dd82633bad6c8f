/**
 * The probe types. A new kind is one module (see harness/probes/probeType.ts for what it provides) and
 * one line here; the scenario schema, the probe agent, the runner, the reports and the kind backend
 * all go through the functions below.
 */
import type { ClientCheck, ComparedField, TypeResultBase, ProbeType, ProbeTarget } from './probeType.ts';
import type { ShellOutput } from './shell.ts';
import type { ProbeResult } from './result.ts';
import { tcpProbe } from './tcp.ts';
import { redisProbe } from './redis.ts';
import { httpProbe } from './http.ts';
import { mysqlProbe } from './mysql.ts';

export const PROBE_TYPES = {
  tcp: tcpProbe,
  redis: redisProbe,
  http: httpProbe,
  mysql: mysqlProbe,
} as const;

export type ProbeTypeName = keyof typeof PROBE_TYPES;

/** What the probe agent is sent: one kind's spec (each module defines its own). */
export type ProbeSpec = { [K in ProbeTypeName]: ReturnType<(typeof PROBE_TYPES)[K]['spec']> }[ProbeTypeName];
export const PROBE_TYPE_NAMES = Object.keys(PROBE_TYPES) as ProbeTypeName[];

/** A kind's block as a scenario gives it, e.g. the `tcp: {...}` of a tcp probe. */
export type ProbeBlock<K extends ProbeTypeName> = Parameters<(typeof PROBE_TYPES)[K]['spec']>[0];

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** Every kind's own client expectation fields, together (the schema's `expect.client` takes them all, then each probe is held to its kind's). */
export type TypeExpectShape = UnionToIntersection<(typeof PROBE_TYPES)[ProbeTypeName]['expect']>;
export const KIND_EXPECT_FIELDS = Object.assign({}, ...PROBE_TYPE_NAMES.map((k) => PROBE_TYPES[k].expect)) as TypeExpectShape;

/** A probe of some kind: `kind` says which, and the block sits under the kind's name. */
export type TypedProbe = { [K in ProbeTypeName]: { kind: K } & { [P in K]: ProbeBlock<K> } }[ProbeTypeName];

// The modules are typed per kind; these helpers take any probe, so they see each through one shape.
type AnyProbeType = ProbeType<ProbeTypeName, unknown, ProbeSpec>;
function moduleOf(kind: string): AnyProbeType {
  if (!(kind in PROBE_TYPES)) throw new Error(`no probe type "${kind}"; the kinds are ${PROBE_TYPE_NAMES.join(', ')}`);
  return PROBE_TYPES[kind as ProbeTypeName];
}
const blockOf = (p: TypedProbe): unknown => (p as unknown as Record<string, unknown>)[p.kind];

export function probeSpec(p: TypedProbe): ProbeSpec {
  return moduleOf(p.kind).spec(blockOf(p));
}

export function describeProbe(p: TypedProbe): string {
  return moduleOf(p.kind).describe(blockOf(p));
}

export function probeTarget(p: TypedProbe): ProbeTarget {
  return moduleOf(p.kind).target(blockOf(p));
}

export function probeHost(p: TypedProbe): string {
  return moduleOf(p.kind).host(blockOf(p));
}

/** The probe with the host it dials mapped (the kind backend's address substitution). */
export function withProbeHost<P extends TypedProbe>(p: P, map: (host: string) => string): P {
  return { ...p, [p.kind]: moduleOf(p.kind).withHost(blockOf(p), map) };
}

/** The client expectation fields only this kind answers. */
export function typeExpectFields(kind: ProbeTypeName): string[] {
  return Object.keys(moduleOf(kind).expect);
}

/** The kind's own client checks of a result (the common ones are harness/result/assertions.ts's). */
export function typeClientChecks(kind: string, e: Record<string, unknown>, r: ProbeResult): ClientCheck[] {
  return moduleOf(kind).clientChecks(e, r);
}

/** Whether the kind's own expectation fields describe a failure (see ProbeType.expectsFailure). */
export function typeExpectsFailure(kind: ProbeTypeName, e: Record<string, unknown>): boolean {
  return moduleOf(kind).expectsFailure(e);
}

/** The error classes a kind's results carry, as written in its module (`curl-<N>` for any exit code). */
export function typeErrorClasses(kind: ProbeTypeName): ReadonlyArray<string> {
  return moduleOf(kind).errorClasses;
}

export function isTypeErrorClass(kind: ProbeTypeName, errorClass: string): boolean {
  return typeErrorClasses(kind).some((c) =>
    c.endsWith('<N>') ? new RegExp(`^${c.slice(0, -3)}\\d+$`).test(errorClass) : c === errorClass,
  );
}

/** Runs a wire spec (inside the pod namespace: the probe agent). */
export function runProbeSpec(spec: ProbeSpec): Promise<ProbeResult> {
  return moduleOf(spec.kind).run(spec);
}

export function resultTarget(spec: ProbeSpec): string {
  return moduleOf(spec.kind).resultTarget(spec);
}

export function probeBudgetMs(spec: ProbeSpec): number {
  return moduleOf(spec.kind).budgetMs(spec);
}

/** The spec with the lab CA's file, for kinds that verify TLS; others unchanged. */
export function withCaFile(spec: ProbeSpec, file: string): ProbeSpec {
  return moduleOf(spec.kind).withCaFile?.(spec, file) ?? spec;
}

export function kindScript(spec: ProbeSpec, sourcePort: number | string): string {
  return moduleOf(spec.kind).kindScript(spec, sourcePort);
}

export function parseKindOutput(spec: ProbeSpec, out: ShellOutput, base: TypeResultBase): ProbeResult {
  return moduleOf(spec.kind).parseKindOutput(spec, out, base);
}

export function shellLimits(kind: string): Partial<Record<ComparedField, string>> {
  return moduleOf(kind).shellLimits;
}

export function wireSchemas() {
  return PROBE_TYPE_NAMES.map((k) => PROBE_TYPES[k].wire);
}
