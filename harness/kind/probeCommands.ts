/**
 * Probes on kind: the same probe specs as the netns lab, run with `kubectl exec` in the client pod's
 * app container (nicolaka/netshoot: curl, nc, socat; no redis-cli or mysql client), and their
 * output read back into the common ProbeResult. Pure: commands and parsers only.
 *
 * Each command prints a trailer line `EGL <exit> <local-port> <bytes>` after the client's own
 * output so the result can be read without guessing.
 */
import type { ProbeResult } from '../probes/result.ts';
import type { ProbeSpec } from '../probes/registry.ts';
import { kindScript, parseKindOutput, resultTarget } from '../probes/registry.ts';
import { TRAILER_LINE } from '../probes/shell.ts';
import { KUBE_CONTEXT, type Command } from './plan.ts';

export { decodeHex, greetingVersion, resp } from '../probes/shell.ts';

/** The shell script that runs one probe inside the pod and prints the trailer (the kind's module writes it). */
export function probeScript(spec: ProbeSpec): string {
  return kindScript(spec);
}

export function probeCommand(spec: ProbeSpec, pod: string, namespace: string): Command {
  return {
    program: 'kubectl',
    args: ['--context', KUBE_CONTEXT, 'exec', '-n', namespace, pod, '-c', 'app', '--', 'sh', '-c', probeScript(spec)],
    why: `${spec.kind} probe from ${namespace}/${pod}`,
  };
}

/** Reads a probe's output back into the common result shape; `durationMs` is measured by the caller. */
export function parseProbeOutput(spec: ProbeSpec, stdout: string, durationMs: number): ProbeResult {
  const m = TRAILER_LINE.exec(stdout);
  const body = m ? stdout.slice(0, m.index) : stdout;
  const rc = m ? Number(m[1]) : -1;
  const target = resultTarget(spec);
  const base: ProbeResult = { kind: spec.kind, target, connect: 'ok', received: body, receivedBytes: Buffer.byteLength(body), end: 'eof', errorClass: 'none', durationMs };
  return parseKindOutput(spec, body, rc, base);
}
