/** Where the model cannot know what real Istio does, collected for the scenario output. */
import type { LoadedScenario } from '../scenario/load.ts';
import { buildProxyConfig } from './proxyConfig.ts';
import { RESTORE_NOTE_LEGACY } from './iptables.ts';

export function fidelityNotes(loaded: LoadedScenario): string[] {
  const notes = new Set<string>();
  for (const w of loaded.scenario.workloads.filter((x) => x.sidecar)) {
    for (const n of buildProxyConfig(loaded.scenario, loaded.istio, w).fidelityNotes) notes.add(n);
  }
  if (loaded.istio.era === 'legacy' && loaded.scenario.workloads.some((w) => w.sidecar)) notes.add(RESTORE_NOTE_LEGACY);
  const { destinationRules, sidecars } = loaded.scenario.mesh;
  for (const [kind, list] of [
    ['DestinationRule', destinationRules],
    ['Sidecar', sidecars],
  ] as const) {
    for (const o of list) notes.add(`the model ignores ${kind} ${o.namespace}/${o.name}: only real Istio (--sidecar envoy) applies it`);
  }
  return [...notes];
}
