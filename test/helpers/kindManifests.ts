/** Scenarios and manifest options for the kind manifest and address-mapping tests. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SCENARIO_DIR, loadScenarioFile } from '../../harness/scenario/load.ts';
import type { Scenario } from '../../harness/scenario/schema.ts';
import { KIND_SERVICE_CIDR, type KubeObject, type ManifestOptions } from '../../harness/k8s/objects.ts';

export const OPTS: ManifestOptions = {
  clientImage: 'nicolaka/netshoot:v0.13',
  statsInclusionPrefixes: ['cluster.PassthroughCluster', 'cluster.BlackHoleCluster', 'tcp.'],
  serviceCIDR: KIND_SERVICE_CIDR,
};

export const load = (name: string): Scenario => loadScenarioFile(name).scenario;

export function find<K extends KubeObject['kind']>(
  objs: KubeObject[],
  kind: K,
  name: string,
  namespace?: string,
): Extract<KubeObject, { kind: K }> {
  const o = objs.find(
    (x) => x.kind === kind && x.metadata?.name === name && (namespace === undefined || x.metadata?.namespace === namespace),
  );
  if (!o) throw new Error(`no ${kind} ${namespace ?? '*'}/${name} in ${objs.map((x) => `${x.kind}/${x.metadata?.name}`).join(', ')}`);
  return o as Extract<KubeObject, { kind: K }>;
}

/** The catalog scenarios on current Istio, the ones kind runs. */
export const modern = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => loadScenarioFile(join(SCENARIO_DIR, f)))
  .filter((l) => l.istio.era === 'modern');
