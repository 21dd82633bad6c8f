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
  return [...notes];
}
