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
/** The Istio the kind backend installs (the newest stable release when the backend was written). */
export const ISTIO_VERSION = '1.30.3';

/** A shell-like rendering of a command, for humans (quoting only what needs it). */
export function renderCommand(c: Command): string {
  const quote = (a: string) => (/^[\w@%+=:,./|-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return [c.program, ...c.args].map(quote).join(' ') + (c.input !== undefined ? ' <<EOF ... EOF' : '');
}
