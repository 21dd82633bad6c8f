/**
 * What a scenario says that the sidecar model does not model. The model runs only what it models:
 * anything listed here stops a model run before it starts (harness/run/engines.ts), rather than
 * being ignored. Real Istio (--sidecar envoy) reads all of it.
 */
import type { LoadedScenario } from '../scenario/load.ts';
import { describeSource } from '../scenario/manifests.ts';
import { objectKey } from '../scenario/objectKinds.ts';
import { hasProxyMetadata } from '../scenario/proxyMetadata.ts';

/** The policy modes the model has (harness/model/listeners.ts): the two the seed era knew. */
const MODELLED_MODES = new Set(['ALLOW_ANY', 'REGISTRY_ONLY']);

export function unmodelled(loaded: LoadedScenario): string[] {
  const s = loaded.scenario;
  const out: string[] = [];
  s.objects.forEach((o, i) => out.push(`${objectKey(o)} (${describeSource(loaded.objectSources[i]!)})`));
  for (const dr of s.mesh.destinationRules) out.push(`DestinationRule ${dr.namespace}/${dr.name} (mesh.destinationRules)`);
  for (const sc of s.mesh.sidecars) out.push(`Sidecar ${sc.namespace}/${sc.name} (mesh.sidecars)`);
  for (const [key, value] of Object.entries(s.meshConfig)) {
    const mode = (value as { mode?: unknown } | undefined)?.mode;
    if (
      key === 'outboundTrafficPolicy' &&
      typeof mode === 'string' &&
      MODELLED_MODES.has(mode) &&
      Object.keys(value as object).length === 1
    )
      continue;
    out.push(`meshConfig.${key}`);
  }
  for (const name of Object.keys(s.istiod.env)) out.push(`istiod.env.${name}`);
  for (const w of s.workloads)
    if (hasProxyMetadata(w.annotations['proxy.istio.io/config'])) out.push(`workload ${w.name}'s proxy.istio.io/config proxyMetadata`);
  return out;
}
