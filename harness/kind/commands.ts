/**
 * Every command the kind backend runs against a cluster, as data (no I/O here). The backend runs
 * exactly these, and `--dry-run` lists exactly these (harness/kind/dryRun.ts), so the plan a user
 * reads is the one a live run follows. Values known only on a live cluster (pod names, sandbox
 * pids, assigned addresses) are parameters: the dry-run passes placeholders such as `<sleep pod>`.
 */
import { CLUSTER_NAME, KUBE_CONTEXT, type Command } from './plan.ts';
import { LABELLED_KINDS } from './manifests.ts';
import { SCENARIO_LABEL } from '../k8s/objects.ts';
import { INSTALL_HASH_ANNOTATION } from './clusterPlan.ts';

/** The kind node container: crictl and nsenter run there, as root, to reach a pod's netns. */
export const NODE_CONTAINER = `${CLUSTER_NAME}-control-plane`;

/** How long teardown and the pre-apply clean-up wait for a scenario's namespaces to be gone. */
const DELETE_TIMEOUT = '--timeout=180s';

export function kubectl(why: string, ...args: string[]): Command {
  return { program: 'kubectl', args: ['--context', KUBE_CONTEXT, ...args], why };
}

export const listClusters = (): Command => ({ program: 'kind', args: ['get', 'clusters'], why: 'does the egress-lab cluster exist?' });
export const managedNodes = (): Command =>
  kubectl("is it egress-lab's (its node carries the managed label)?", 'get', 'nodes', '-l', 'egress-lab.io/managed=true', '-o', 'name');
/** The hash of the settings istiod was installed with (clusterPlan.ts INSTALL_HASH_ANNOTATION); empty or failing when none. */
export const installedSettings = (): Command =>
  kubectl(
    'is Istio installed with these settings?',
    '-n',
    'istio-system',
    'get',
    'deploy',
    'istiod',
    '-o',
    `jsonpath={.metadata.annotations.${INSTALL_HASH_ANNOTATION.replace(/\./g, '\\.')}}`,
  );

const label = (scenario: string) => `${SCENARIO_LABEL}=${scenario}`;

/**
 * Removes a scenario's objects and waits until its namespaces are gone. Run before apply (a crashed
 * or interrupted earlier run may have left them, or left them terminating: applying into a
 * terminating namespace fails) and as teardown, so back-to-back scenarios never collide.
 */
export function deleteScenario(scenario: string, why: string): Command[] {
  return [
    kubectl(
      `${why}: objects in shared namespaces`,
      'delete',
      LABELLED_KINDS,
      '-A',
      '-l',
      label(scenario),
      '--ignore-not-found',
      '--wait=true',
      DELETE_TIMEOUT,
    ),
    kubectl(
      `${why}: the scenario's namespaces, waiting until they are gone`,
      'delete',
      'namespace',
      '-l',
      label(scenario),
      '--ignore-not-found',
      '--wait=true',
      DELETE_TIMEOUT,
    ),
  ];
}

export const applyManifests = (yaml: string): Command => ({ ...kubectl('apply the generated manifests', 'apply', '-f', '-'), input: yaml });

export const rolloutStatus = (namespace: string, workload: string): Command =>
  kubectl(`wait for ${workload}`, '-n', namespace, 'rollout', 'status', `deploy/${workload}`, '--timeout=5m');

/** The workload's pods as JSON: parsers.ts pickPod takes the running one that is not being deleted. */
export const listPods = (namespace: string, workload: string): Command =>
  kubectl(`find ${workload}'s pod and its IP`, '-n', namespace, 'get', 'pods', '-l', `app=${workload}`, '-o', 'json');

/** The scenario's Services as JSON: the ClusterIPs kind assigned, next to the scenario's (an annotation). */
export const listServices = (scenario: string): Command =>
  kubectl('read the ClusterIPs kind assigned', 'get', 'services', '-A', '-l', label(scenario), '-o', 'json');

export const installCa = (namespace: string, pod: string, file: string, pem: string): Command => ({
  ...kubectl(
    `put the run's CA where ${pod}'s curl reads it`,
    'exec',
    '-i',
    '-n',
    namespace,
    pod,
    '-c',
    'app',
    '--',
    'sh',
    '-c',
    `cat > ${file}`,
  ),
  input: pem,
});

/** pilot-agent's own admin client in the istio-proxy container (stats, config_dump). */
export const pilotAgentRequest = (namespace: string, pod: string, path: string): Command =>
  kubectl(`the sidecar's ${path}`, 'exec', '-n', namespace, pod, '-c', 'istio-proxy', '--', 'pilot-agent', 'request', 'GET', path);

export const proxyLogs = (namespace: string, pod: string): Command =>
  kubectl(`${pod}'s access log`, 'logs', '-n', namespace, pod, '-c', 'istio-proxy');

function onNode(why: string, argv: string[]): Command {
  return { program: 'docker', args: ['exec', NODE_CONTAINER, ...argv], why };
}

/** The pod's sandbox id (parsers.ts parseCrictlPods). */
export const podSandbox = (namespace: string, pod: string): Command =>
  onNode(`${pod}'s sandbox`, ['crictl', 'pods', '--name', `^${pod}$`, '--namespace', namespace, '--state', 'ready', '-q']);

/** The sandbox's pid, whose netns is the pod's (parsers.ts parseInspectpPid). */
export const sandboxInfo = (sandbox: string): Command =>
  onNode("the sandbox pid (its netns is the pod's)", ['crictl', 'inspectp', sandbox]);

/** What runs inside the pod's netns from the node, given a pid in it; the lab runs the same argv. */
export function podNetnsArgv(pid: number | string, argv: string[]): string[] {
  return ['nsenter', '-t', String(pid), '-n', ...argv];
}

export const podConntrack = (pid: number | string, why: string): Command => onNode(why, podNetnsArgv(pid, ['conntrack', '-L']));

/**
 * Both iptables back ends: istio-init in the pod writes with its image's iptables (nft or legacy,
 * whichever it detects), which need not be the node's default; parsers.ts pickIptablesSave keeps
 * the one that holds Istio's chains.
 */
export const podIptables = (pid: number | string): Command[] => [
  onNode("the pod's iptables (nft back end)", podNetnsArgv(pid, ['iptables-nft-save'])),
  onNode("the pod's iptables (legacy back end)", podNetnsArgv(pid, ['iptables-legacy-save'])),
];
