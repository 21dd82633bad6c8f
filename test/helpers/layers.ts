/**
 * The layers of harness/, bottom to top. A module may import from its own folder and from folders
 * below it, never from one above: shared terms at the bottom, pure scenario and model logic above
 * them, side effects (real parts, backends, reports, the command line) at the top.
 */
export const LAYERS = [
  'core', // shared vocabulary: addresses, uids, stat names, the probe target, exit codes
  'proc', // processes: exec, the run's cgroup, processes started in a namespace
  'servers', // server kinds: what each runs in the lab and on kind, its image, its default probe
  'probes', // probe types: schema, wire check, agent runner, kind command line, parser
  'scenario', // the scenario file: schema, loader, Istio versions, outcomes, address mapping
  'model', // the pure TypeScript model of the sidecar: iptables, listeners, routes, path trace
  'evidence', // reading evidence: conntrack legs, the config gate
  'views', // istioctl-style views of a config dump
  'k8s', // the scenario's Kubernetes and Istio objects
  'istio', // Istio's real parts: lab-istiod, istio-iptables, pilot-agent, Envoy's admin API
  'sidecar', // the model's sidecar process
  'backend', // the interface a backend implements
  'result', // results as data: checks, outcomes, the comparison of two engines
  'import', // a customer's cluster as a scenario
  'replay', // a customer's config dump in the lab's Envoy
  'lab', // the netns backend
  'kind', // the kind backend
  'report', // console, JUnit, JSON, HTML
  'run', // the runner, the suite, engines and the backends' table
  'commands', // the command line's command groups
  '(root)', // main.ts and cli.ts
] as const;

export function layerOf(file: string): string {
  return file.includes('/') ? file.split('/')[0]! : '(root)';
}

/** Every import that runs up the layers or leaves them, as "file → import (why)". */
export function layerViolations(graph: Record<string, string[]>, layers: readonly string[] = LAYERS): string[] {
  const rank = (f: string): number => layers.indexOf(layerOf(f));
  const out: string[] = [];
  for (const [file, deps] of Object.entries(graph)) {
    if (rank(file) < 0) out.push(`${file}: folder ${layerOf(file)} is in no layer`);
    for (const dep of deps) if (rank(dep) > rank(file)) out.push(`${file} → ${dep} (${layerOf(file)} is below ${layerOf(dep)})`);
  }
  return out;
}
