/**
 * Which sidecar engines a scenario runs on in the netns lab. `envoy` (the default) is real Istio:
 * the Istio the lab builds (parts/versions.json) with upstream Envoy. `model` is the TypeScript
 * model, the only engine for the seed era (Istio 1.4-1.6), which no real part can run. `both` runs
 * the scenario on each and compares them probe by probe.
 */
import type { LoadedScenario } from '../scenario/load.ts';
import type { SidecarEngine } from '../lab/sidecars.ts';
import { unmodelled } from '../model/unmodelled.ts';

export type SidecarChoice = SidecarEngine | 'both';
export const SIDECAR_CHOICES: readonly SidecarChoice[] = ['envoy', 'model', 'both'];

export interface EnginePlan {
  engines: SidecarEngine[];
  /** Why the plan is not what was asked for, to print with the run. */
  note?: string;
  /** Why the scenario cannot run as asked at all: the caller stops before anything is created. */
  refused?: string;
}

export function enginesFor(loaded: LoadedScenario, choice: SidecarChoice): EnginePlan {
  const missing = unmodelled(loaded);
  if (missing.length > 0) {
    const what = `the sidecar model does not model ${missing.join(', ')}`;
    if (loaded.istio.era === 'legacy')
      return {
        engines: [],
        refused: `${what}, and Istio ${loaded.istio.text} (the seed era) runs only on the model: write it for Istio 1.25 or newer to run it on real Istio`,
      };
    if (choice === 'model') return { engines: [], refused: `${what}: run it on real Istio (--sidecar envoy)` };
    if (choice === 'both') return { engines: ['envoy'], note: `not compared with the model: ${what}` };
  }
  if (loaded.istio.era === 'legacy') {
    return {
      engines: ['model'],
      note:
        choice === 'model'
          ? undefined
          : `Istio ${loaded.istio.text} is the seed era: no real part can run it, so the TypeScript model decides what the sidecar does${choice === 'both' ? ' (nothing to compare it with)' : ''}`,
    };
  }
  return { engines: choice === 'both' ? ['envoy', 'model'] : [choice] };
}
