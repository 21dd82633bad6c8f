/**
 * Parsers for the real output the kind backend reads: crictl, kubectl exec, istioctl proxy-config
 * tables, docker network inspect, kind get clusters. Pure: text in, values out; anything that does
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
// kubectl exec

/**
 * The remote command's exit code from kubectl exec's stderr ("command terminated with exit code N";
 * kubectl also exits with N). Undefined when the line is absent: the command exited 0, or kubectl
 * itself failed before running it (then its own error is on stderr).
 */
export function parseKubectlExecExit(stderr: string): number | undefined {
  const all = [...stderr.matchAll(/command terminated with exit code (\d+)/g)];
  const last = all[all.length - 1];
  return last ? Number(last[1]) : undefined;
}

// ---------------------------------------------------------------------------------------------
// istioctl proxy-config tables

/** Header names that contain a space; the others are single words. */
const MULTI_WORD_HEADERS = ['SERVICE FQDN', 'DESTINATION RULE', 'VIRTUAL SERVICE', 'OUTLIER CHECK'];

export interface TableColumn {
  name: string;
  start: number;
}

/**
 * Columns of a tabwriter table, from its header: each header name starts where its column starts
 * (Go's text/tabwriter pads every cell to the column width, header included).
 */
export function tableColumns(header: string): TableColumn[] {
  const columns: TableColumn[] = [];
  let i = 0;
  while (i < header.length) {
    if (header[i] === ' ') {
      i++;
      continue;
    }
    const multi = MULTI_WORD_HEADERS.find((m) => header.startsWith(m, i) && (header[i + m.length] ?? ' ') === ' ');
    const end = multi ? i + multi.length : header.indexOf(' ', i) === -1 ? header.length : header.indexOf(' ', i);
    columns.push({ name: header.slice(i, end), start: i });
    i = end;
  }
  return columns;
}

/**
 * Rows of a tabwriter table as name → cell, cut at the header's column offsets. The last column may
 * be empty (tabwriter then leaves nothing, or trailing blanks), which reads as ''. Blank lines are
 * skipped; the first non-blank line is the header.
 */
export function parseTable(text: string): { columns: string[]; rows: Array<Record<string, string>> } {
  const lines = text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '');
  const header = lines[0];
  if (header === undefined) throw new Error('empty table');
  const cols = tableColumns(header);
  const rows = lines.slice(1).map((line) => {
    const row: Record<string, string> = {};
    cols.forEach((c, i) => {
      const next = cols[i + 1];
      row[c.name] = line.slice(c.start, next ? next.start : undefined).trim();
    });
    return row;
  });
  return { columns: cols.map((c) => c.name), rows };
}

function requireColumns(what: string, columns: string[], needed: string[][]): void {
  for (const alternatives of needed) {
    if (!alternatives.some((a) => columns.includes(a))) {
      throw new Error(`${what}: expected a ${alternatives.join(' or ')} column, the header has ${columns.join(', ')}`);
    }
  }
}

function portOf(what: string, cell: string): number {
  if (!/^\d+$/.test(cell)) throw new Error(`${what}: PORT ${JSON.stringify(cell)} is not a number`);
  return Number(cell);
}

export interface ListenerRow {
  address: string;
  port: number;
  /** `ALL`, `App: HTTP`, `SNI: www.baidu.com`, `Addr: *:15001`... */
  match: string;
  /** `Cluster: outbound|3306||mysql.demo`, `Route: 80`, `PassthroughCluster`, `Non-HTTP/Non-TCP`... */
  destination: string;
}

/**
 * `istioctl proxy-config listener POD` (columns ADDRESS or, in newer istioctl, ADDRESSES; PORT;
 * MATCH; DESTINATION).
 */
export function parseIstioctlListenerTable(text: string): ListenerRow[] {
  const what = 'istioctl proxy-config listener table';
  const t = parseTable(text);
  requireColumns(what, t.columns, [['ADDRESS', 'ADDRESSES'], ['PORT'], ['MATCH'], ['DESTINATION']]);
  return t.rows.map((r) => ({
    address: r.ADDRESS ?? r.ADDRESSES ?? '',
    port: portOf(what, r.PORT ?? ''),
    match: r.MATCH ?? '',
    destination: r.DESTINATION ?? '',
  }));
}

export interface ClusterRow {
  serviceFqdn: string;
  /** Undefined where istioctl prints "-" (clusters without a port: PassthroughCluster, sds-grpc). */
  port?: number;
  subset?: string;
  direction?: string;
  type: string;
  /** `name.namespace` of the DestinationRule, '' when none. */
  destinationRule: string;
  /** The Envoy cluster name the row stands for: `outbound|80|v1|host`, or the bare name. */
  clusterName: string;
}

const dash = (s: string | undefined) => (s === undefined || s === '-' || s === '' ? undefined : s);

/** `istioctl proxy-config cluster POD` (SERVICE FQDN, PORT, SUBSET, DIRECTION, TYPE, DESTINATION RULE). */
export function parseIstioctlClusterTable(text: string): ClusterRow[] {
  const what = 'istioctl proxy-config cluster table';
  const t = parseTable(text);
  requireColumns(what, t.columns, [['SERVICE FQDN'], ['PORT'], ['SUBSET'], ['DIRECTION'], ['TYPE']]);
  return t.rows.map((r) => {
    const serviceFqdn = r['SERVICE FQDN'] ?? '';
    const portCell = dash(r.PORT);
    const port = portCell === undefined ? undefined : portOf(what, portCell);
    const subset = dash(r.SUBSET);
    const direction = dash(r.DIRECTION);
    const clusterName = port === undefined || direction === undefined ? serviceFqdn : `${direction}|${port}|${subset ?? ''}|${serviceFqdn}`;
    const row: ClusterRow = { serviceFqdn, type: r.TYPE ?? '', destinationRule: r['DESTINATION RULE'] ?? '', clusterName };
    if (port !== undefined) row.port = port;
    if (subset !== undefined) row.subset = subset;
    if (direction !== undefined) row.direction = direction;
    return row;
  });
}

// ---------------------------------------------------------------------------------------------
// docker network inspect kind

export interface DockerSubnet {
  subnet: string;
  gateway?: string;
  family: 4 | 6;
}

export interface DockerNetwork {
  name: string;
  id: string;
  driver: string;
  subnets: DockerSubnet[];
  /** The first IPv4 subnet: where kind's nodes and the scenario's server containers get addresses. */
  ipv4?: DockerSubnet;
  containers: Array<{ id: string; name: string; ipv4?: string; ipv6?: string }>;
}

/**
 * `docker network inspect kind`: a JSON array with one network object; IPAM.Config lists the subnets
 * (kind asks for an IPv6 ULA, Docker picks the IPv4 one from its pools, usually 172.18.0.0/16).
 * Accepts the text or the parsed value.
 */
export function parseDockerNetworkInspect(json: unknown): DockerNetwork {
  const doc = parseJson('docker network inspect', json);
  const list = Array.isArray(doc) ? doc : [doc];
  if (list.length !== 1) throw new Error(`docker network inspect: expected one network, got ${list.length}`);
  const net = obj(list[0]);
  if (!net || typeof net.Name !== 'string') throw new Error('docker network inspect: no network object with a Name');
  const configs = Array.isArray(obj(net.IPAM)?.Config) ? (obj(net.IPAM)!.Config as unknown[]) : [];
  const subnets: DockerSubnet[] = configs.flatMap((c) => {
    const o = obj(c);
    if (!o || typeof o.Subnet !== 'string' || o.Subnet === '') return [];
    const s: DockerSubnet = { subnet: o.Subnet, family: o.Subnet.includes(':') ? 6 : 4 };
    if (typeof o.Gateway === 'string' && o.Gateway !== '') s.gateway = o.Gateway;
    return [s];
  });
  const containers = Object.entries(obj(net.Containers) ?? {}).map(([id, v]) => {
    const c = obj(v) ?? {};
    const strip = (a: unknown) => (typeof a === 'string' && a !== '' ? a.split('/')[0] : undefined);
    const entry: DockerNetwork['containers'][number] = { id, name: typeof c.Name === 'string' ? c.Name : '' };
    const v4 = strip(c.IPv4Address);
    const v6 = strip(c.IPv6Address);
    if (v4) entry.ipv4 = v4;
    if (v6) entry.ipv6 = v6;
    return entry;
  });
  const result: DockerNetwork = {
    name: net.Name,
    id: typeof net.Id === 'string' ? net.Id : '',
    driver: typeof net.Driver === 'string' ? net.Driver : '',
    subnets,
    containers,
  };
  const v4 = subnets.find((s) => s.family === 4);
  if (v4) result.ipv4 = v4;
  return result;
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
