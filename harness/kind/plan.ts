/**
 * The kind backend's vocabulary: the exact external commands it runs, as data, so that a scenario's
 * whole command plan can be printed (--dry-run) and tested without a Docker engine.
 */

export type Program = 'kind' | 'kubectl' | 'istioctl' | 'docker';

export interface Command {
  program: Program;
  args: string[];
  /** Text piped to stdin (manifests for kubectl apply -f -, the kind config). */
  input?: string;
  /** Why this step exists, for --dry-run and progress lines. */
  why: string;
}

/** The one cluster egress-lab creates and reuses. */
export const CLUSTER_NAME = 'egress-lab';
export const KUBE_CONTEXT = `kind-${CLUSTER_NAME}`;
/** Label put on the cluster's node: a cluster carrying it is egress-lab's and may be reused. */
export const MANAGED_LABEL = 'egress-lab.io/managed';
/**
 * The Istio release the kind backend installs: the one closest to what the lab's real sidecar is
 * built from, so `--backend both` compares like with like. The lab pins istio.io/istio master of
 * 2026-08-27 (istio/go.mod), whose VERSION file says 1.31, after release-1.31 branched and
 * 1.31.0-rc.0: its release is 1.31.0. test/unit/kindPlan.test.ts keeps the two on one minor.
 */
export const ISTIO_VERSION = '1.31.0';

/** A shell-like rendering of a command, for humans (quoting only what needs it). */
export function renderCommand(c: Command): string {
  const quote = (a: string) => (/^[\w@%+=:,./|-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return [c.program, ...c.args].map(quote).join(' ') + (c.input !== undefined ? ' <<EOF ... EOF' : '');
}
