/**
 * The probe kinds. A new kind is one module (see harness/probes/probeType.ts for what it provides) and
 * one line here; the scenario schema, the probe agent, the runner, the reports and the kind backend
 * all go through the functions below.
 */
import type { ClientCheck, ComparedField, KindResultBase, ProbeKind, ProbeTarget } from './probeType.ts';
import type { ShellOutput } from './shell.ts';
import type { ProbeResult } from './result.ts';
import { tcpProbe } from './tcp.ts';
import { redisProbe } from './redis.ts';
import { httpProbe } from './http.ts';
import { mysqlProbe } from './mysql.ts';

export const PROBE_KINDS = {
  tcp: tcpProbe,
  redis: redisProbe,
  http: httpProbe,
  mysql: mysqlProbe,
} as const;

export type ProbeKindName = keyof typeof PROBE_KINDS;

/** What the probe agent is sent: one kind's spec (each module defines its own). */
export type ProbeSpec = { [K in ProbeKindName]: ReturnType<(typeof PROBE_KINDS)[K]['spec']> }[ProbeKindName];
export const PROBE_KIND_NAMES = Object.keys(PROBE_KINDS) as ProbeKindName[];

/** A kind's block as a scenario gives it, e.g. the `tcp: {...}` of a tcp probe. */
export type ProbeBlock<K extends ProbeKindName> = Parameters<(typeof PROBE_KINDS)[K]['spec']>[0];

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** Every kind's own client expectation fields, together (the schema's `expect.client` takes them all, then each probe is held to its kind's). */
export type KindExpectShape = UnionToIntersection<(typeof PROBE_KINDS)[ProbeKindName]['expect']>;
export const KIND_EXPECT_FIELDS = Object.assign({}, ...PROBE_KIND_NAMES.map((k) => PROBE_KINDS[k].expect)) as KindExpectShape;

/** A probe of some kind: `kind` says which, and the block sits under the kind's name. */
export type KindedProbe = { [K in ProbeKindName]: { kind: K } & { [P in K]: ProbeBlock<K> } }[ProbeKindName];

// The modules are typed per kind; these helpers take any probe, so they see each through one shape.
type AnyKind = ProbeKind<ProbeKindName, unknown, ProbeSpec>;
function moduleOf(kind: string): AnyKind {
  if (!(kind in PROBE_KINDS)) throw new Error(`no probe kind "${kind}"; the kinds are ${PROBE_KIND_NAMES.join(', ')}`);
  return PROBE_KINDS[kind as ProbeKindName];
}
const blockOf = (p: KindedProbe): unknown => (p as unknown as Record<string, unknown>)[p.kind];

export function probeSpec(p: KindedProbe): ProbeSpec {
  return moduleOf(p.kind).spec(blockOf(p));
}

export function describeProbe(p: KindedProbe): string {
  return moduleOf(p.kind).describe(blockOf(p));
}

export function probeTarget(p: KindedProbe): ProbeTarget {
  return moduleOf(p.kind).target(blockOf(p));
}

export function probeHost(p: KindedProbe): string {
  return moduleOf(p.kind).host(blockOf(p));
}

/** The probe with the host it dials mapped (the kind backend's address substitution). */
export function withProbeHost<P extends KindedProbe>(p: P, map: (host: string) => string): P {
  return { ...p, [p.kind]: moduleOf(p.kind).withHost(blockOf(p), map) };
}

/** The client expectation fields only this kind answers. */
export function kindExpectFields(kind: ProbeKindName): string[] {
  return Object.keys(moduleOf(kind).expect);
}

/** The kind's own client checks of a result (the common ones are harness/result/assertions.ts's). */
export function kindClientChecks(kind: string, e: Record<string, unknown>, r: ProbeResult): ClientCheck[] {
  return moduleOf(kind).clientChecks(e, r);
}

/** Whether the kind's own expectation fields describe a failure (see ProbeKind.expectsFailure). */
export function kindExpectsFailure(kind: ProbeKindName, e: Record<string, unknown>): boolean {
  return moduleOf(kind).expectsFailure(e);
}

/** The error classes a kind's results carry, as written in its module (`curl-<N>` for any exit code). */
export function kindErrorClasses(kind: ProbeKindName): ReadonlyArray<string> {
  return moduleOf(kind).errorClasses;
}

export function isKindErrorClass(kind: ProbeKindName, errorClass: string): boolean {
  return kindErrorClasses(kind).some((c) =>
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

export function parseKindOutput(spec: ProbeSpec, out: ShellOutput, base: KindResultBase): ProbeResult {
  return moduleOf(spec.kind).parseKindOutput(spec, out, base);
}

export function shellLimits(kind: string): Partial<Record<ComparedField, string>> {
  return moduleOf(kind).shellLimits;
}

export function wireSchemas() {
  return PROBE_KIND_NAMES.map((k) => PROBE_KINDS[k].wire);
}
