/**
 * What a kind of probe is made of. Each kind (tcp, redis, http, mysql) lives in one module that
 * provides all of it, and harness/probes/registry.ts lists the modules: the scenario schema, the
 * probe agent, the runner, the reports and the kind backend ask the module, never test for keys.
 */
import { z } from 'zod';
import type { ProbeResult } from './result.ts';
import type { TraceProbe } from '../core/traceProbe.ts';
import type { ShellOutput } from './shell.ts';

/** The fields every kind script result starts from. */
export type TypeResultBase = Pick<ProbeResult, 'kind' | 'target' | 'durationMs'>;

/** The result fields the kind scripts are compared on with the lab's probe agent. */
export const COMPARED_FIELDS = [
  'connect',
  'end',
  'errorClass',
  'receivedBytes',
  'received',
  'reply',
  'httpStatus',
  'body',
  'serverVersion',
  'localPort',
] as const;
export type ComparedField = (typeof COMPARED_FIELDS)[number];

/** A TCP port, as every kind's block and the scenario's Services give it. */
export const port = z.number().int().min(1, 'expected a port from 1 to 65535').max(65535, 'expected a port from 1 to 65535');

/** One client expectation judged: what was expected, what the client saw, whether they agree. */
export interface ClientCheck {
  what: string;
  expected: string;
  seen: string;
  ok: boolean;
}

/** Text in a check, quoted so that whitespace and \r\n show. */
export const quoted = (s: string): string => JSON.stringify(s);
/** Long bodies are cut for the report; the whole result is in the probe's result.json. */
export const clipped = (s: string): string => (s.length > 300 ? `${s.slice(0, 300)}…` : s);

/** What the sidecar sees of a probe's connection first: the model's path trace and Istio's simulation start from it. */
export type ProbeTarget = TraceProbe;

export interface ProbeType<K extends string, Block, Spec extends { kind: K }, Expect extends z.ZodRawShape = z.ZodRawShape> {
  readonly kind: K;
  /** The probe's block in a scenario file, e.g. `tcp: { host, port, send }`. */
  readonly schema: z.ZodType<Block>;
  /**
   * The client expectations only this kind answers, as schema fields (connect, end, durationMs and
   * errorClass are every kind's, see harness/scenario/schema.ts); a scenario giving another kind's
   * field is refused when it loads.
   */
  readonly expect: Expect;
  /** Judges those expectations against a result. */
  clientChecks(e: z.infer<z.ZodObject<Expect>>, r: ProbeResult): ClientCheck[];
  /**
   * Whether the kind's own expectation fields describe a failure (curl exit 52, a 502, zero bytes):
   * the kind backend never retries a probe that is expected to fail (harness/run/retry.ts).
   */
  expectsFailure(e: z.infer<z.ZodObject<Expect>>): boolean;
  /** The error classes this kind's results carry (`curl-<N>`: curl's exit code N); an expectation naming another is refused. */
  readonly errorClasses: ReadonlyArray<string>;
  /** What the probe agent is sent (and checks with `wire`) and the kind command is built from. */
  spec(block: Block): Spec;
  readonly wire: z.ZodType<Spec>;
  /** The one-line form in the output and reports, e.g. `tcp 10.0.0.6:7000 send "keys *\n"`. */
  describe(block: Block): string;
  target(block: Block): ProbeTarget;
  /** The host the probe dials (a name or an IP), and the block with it replaced (kind maps addresses). */
  host(block: Block): string;
  withHost(block: Block, map: (host: string) => string): Block;
  /** The result's `target`: "host:port" as the probe gave it (http: the URL's host and port). */
  resultTarget(spec: Spec): string;
  /** The longest the probe itself may take, before the caller's margin (a stuck agent is cut off after). */
  budgetMs(spec: Spec): number;
  /** Kinds that verify TLS take the lab CA's file where the client cannot read the pod's trust store. */
  withCaFile?(spec: Spec, file: string): Spec;
  /** Runs the probe inside the pod namespace (the probe agent). */
  run(spec: Spec): Promise<ProbeResult>;
  /**
   * The shell script `kubectl exec` runs in the kind client container (harness/probes/shell.ts: its
   * sections and trailer). `sourcePort` is the client port to bind where the tool cannot report the
   * one the kernel picked (socat); curl reports its own. A dry-run passes a placeholder.
   */
  kindScript(spec: Spec, sourcePort: number | string): string;
  /** That script's output as a ProbeResult; `base` has the kind, target and measured duration. */
  parseKindOutput(spec: Spec, out: ShellOutput, base: TypeResultBase): ProbeResult;
  /**
   * What the kind script cannot observe as the lab's probe agent does, by result field: the
   * comparison of the two (harness/kind/labComparison.ts) allows exactly these differences.
   */
  readonly shellLimits: Partial<Record<ComparedField, string>>;
}
