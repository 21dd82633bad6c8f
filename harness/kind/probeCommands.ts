/**
 * Probes on kind: the same probe specs as the netns lab, run with `kubectl exec` in the client pod's
 * app container (nicolaka/netshoot: curl, socat), and their output read back into the common
 * ProbeResult. Pure: commands and parsers only. The scripts are the probe types' own
 * (harness/probes/*.ts kindScript); test/lab/kindCommandsInLab.test.ts runs them in the lab.
 */
import type { ProbeResult } from '../probes/result.ts';
import type { ProbeSpec } from '../probes/registry.ts';
import { kindScript, parseKindOutput, resultTarget } from '../probes/registry.ts';
import { parseShellOutput } from '../probes/shell.ts';
import { KUBE_CONTEXT, type Command } from './plan.ts';

/** The argv that runs a probe's script with sh (in the client container, or in a lab pod namespace). */
export function probeShellArgv(spec: ProbeSpec, sourcePort: number | string): string[] {
  return ['sh', '-c', kindScript(spec, sourcePort)];
}

/** `sourcePort` is a number on a live run, a placeholder such as `<source port>` in a dry-run. */
export function probeCommand(spec: ProbeSpec, pod: string, namespace: string, sourcePort: number | string): Command {
  const argv = probeShellArgv(spec, sourcePort);
  return {
    program: 'kubectl',
    args: ['--context', KUBE_CONTEXT, 'exec', '-n', namespace, pod, '-c', 'app', '--', ...argv],
    why: `${spec.kind} probe from ${namespace}/${pod}`,
  };
}

/**
 * The client port a socat probe binds: socat does not log the port the kernel picks, so the harness
 * picks one from the kernel's default ephemeral range (net.ipv4.ip_local_port_range 32768-60999).
 */
export function randomSourcePort(random: () => number = Math.random): number {
  return 32768 + Math.floor(random() * (60999 - 32768 + 1));
}

/** Reads a probe's output back into the common result shape; `durationMs` is measured by the caller. */
export function parseProbeOutput(spec: ProbeSpec, stdout: string, durationMs: number): ProbeResult {
  const out = parseShellOutput(stdout);
  return parseKindOutput(spec, out, { kind: spec.kind, target: resultTarget(spec), durationMs });
}
