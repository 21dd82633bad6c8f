/**
 * Parsers for the real output the kind backend reads: crictl, kubectl's pod and Service lists,
 * iptables-save, kind get clusters. Pure: text in, values out; anything that does
 * not look like the documented format throws with what was seen, so a changed tool fails loudly
 * instead of yielding an empty result.
 */

const clip = (s: string, n = 200) => {
  const t = s.trim();
  return t.length > n ? `${t.slice(0, n)}…` : t;
};

type Json = Record<string, unknown>;

function obj(x: unknown): Json | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Json) : undefined;
}

function parseJson(what: string, input: unknown): unknown {
  if (typeof input !== 'string') return input;
  try {
    return JSON.parse(input);
  } catch (err) {
    throw new Error(`${what}: not JSON (${(err as Error).message}): ${clip(input)}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------
// crictl

/** Sandbox and container ids: 64 hex digits with -q (--no-trunc is implied), 13 when truncated. */
const CRI_ID = /^[0-9a-f]{12,64}$/;

/**
 * `crictl pods --name '^POD$' --namespace NS -q`: one sandbox id per line, newest first, nothing when
 * no pod matches. Lines that are not ids (a stray log line on stdout) are ignored.
 */
export function parseCrictlPods(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => CRI_ID.test(l));
}

/**
 * `crictl inspectp SANDBOX` (JSON by default): `.info.pid` is containerd's SandboxInfo.Pid, the
 * sandbox's pause process in the node container's PID namespace; `nsenter -t PID -n` enters the
 * pod's network namespace with it. Accepts the text or the parsed object.
 */
export function parseInspectpPid(json: unknown): number {
  const doc = obj(parseJson('crictl inspectp', json));
  if (!doc) throw new Error('crictl inspectp: expected a JSON object');
  const info = obj(doc.info);
  if (!info) throw new Error('crictl inspectp: no "info" object (crictl prints it only with verbose inspection, the default)');
  const pid = info.pid;
  if (typeof pid !== 'number' || !Number.isInteger(pid))
    throw new Error(`crictl inspectp: .info.pid is not an integer: ${JSON.stringify(pid)}`);
  if (pid <= 0) {
    const state = obj(doc.status)?.state;
    throw new Error(
      `crictl inspectp: .info.pid is ${pid}: the sandbox has no running process${typeof state === 'string' ? ` (state ${state})` : ''}`,
    );
  }
  return pid;
}

// ---------------------------------------------------------------------------------------------
// kubectl get -o json

export interface RunningPod {
  name: string;
  ip: string;
}

/**
 * `kubectl get pods -l app=W -o json`: the workload's pod that is Running, has an IP and is not
 * being deleted. After a previous run or a restart the list can also hold a terminating pod, which
 * `.items[0]` would pick; two live ones (a rollout in progress) are an error, never a guess.
 */
export function pickPod(json: unknown, workload: string): RunningPod {
  const items = obj(parseJson('kubectl get pods', json))?.items;
  if (!Array.isArray(items)) throw new Error('kubectl get pods: expected a List with "items"');
  const live = items.map(obj).filter((p): p is Json => {
    if (!p || obj(p.metadata)?.deletionTimestamp !== undefined) return false;
    const status = obj(p.status);
    return status?.phase === 'Running' && typeof status.podIP === 'string' && status.podIP !== '';
  });
  const seen = items.map(
    (p) =>
      `${String(obj(obj(p)?.metadata)?.name)} (${String(obj(obj(p)?.status)?.phase)}${obj(obj(p)?.metadata)?.deletionTimestamp ? ', terminating' : ''})`,
  );
  if (live.length !== 1) throw new Error(`expected one running pod of ${workload}, found ${live.length}: ${seen.join(', ') || 'none'}`);
  return { name: String(obj(live[0]!.metadata)!.name), ip: String(obj(live[0]!.status)!.podIP) };
}

export interface AssignedClusterIp {
  namespace: string;
  name: string;
  /** The scenario's ClusterIP (the lab-cluster-ip annotation), and the one kind assigned. */
  scenario: string;
  assigned: string;
}

/** `kubectl get services -A -l ... -o json`: each Service's scenario ClusterIP (annotation) and the one it got. */
export function assignedClusterIps(json: unknown, annotation: string): AssignedClusterIp[] {
  const items = obj(parseJson('kubectl get services', json))?.items;
  if (!Array.isArray(items)) throw new Error('kubectl get services: expected a List with "items"');
  return items.flatMap((item) => {
    const meta = obj(obj(item)?.metadata);
    const scenario = obj(meta?.annotations)?.[annotation];
    const assigned = obj(obj(item)?.spec)?.clusterIP;
    if (typeof scenario !== 'string' || typeof assigned !== 'string') return [];
    return [{ namespace: String(meta?.namespace), name: String(meta?.name), scenario, assigned }];
  });
}

// ---------------------------------------------------------------------------------------------
// iptables-save

/**
 * Of the pod's nft and legacy iptables-save outputs, the one istio-init wrote: the one with Istio's
 * chains (ISTIO_OUTPUT); if neither has them, the one with more rules (so a pod without a sidecar
 * still shows its rules, if any).
 */
export function pickIptablesSave(nft: string, legacy: string): { backend: 'nft' | 'legacy'; text: string } {
  const istio = (t: string) => /^:ISTIO_OUTPUT /m.test(t);
  const rules = (t: string) => t.split('\n').filter((l) => l.startsWith('-A ')).length;
  if (istio(nft) !== istio(legacy)) return istio(nft) ? { backend: 'nft', text: nft } : { backend: 'legacy', text: legacy };
  return rules(legacy) > rules(nft) ? { backend: 'legacy', text: legacy } : { backend: 'nft', text: nft };
}

// ---------------------------------------------------------------------------------------------
// kind get clusters

const KIND_NAME = /^[a-z0-9][a-z0-9.-]*$/;

/**
 * `kind get clusters`: one cluster name per line on stdout; with none, stdout is empty and
 * "No kind clusters found." goes to stderr (also handled when the two streams were merged).
 */
export function parseKindGetClusters(stdout: string, stderr = ''): string[] {
  const merged = `${stdout}\n${stderr}`;
  if (/No kind clusters found\./.test(merged) && stdout.replace(/No kind clusters found\./g, '').trim() === '') return [];
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      if (!KIND_NAME.test(l)) throw new Error(`kind get clusters: ${JSON.stringify(l)} is not a cluster name`);
      return l;
    });
}
