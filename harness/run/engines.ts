/**
 * Which sidecar engines a scenario runs on in the netns lab. `envoy` (the default) is real Istio:
 * the Istio the lab builds (parts/versions.json) with upstream Envoy. `model` is the TypeScript
 * model, the only engine for the seed era (Istio 1.4-1.6), which no real part can run. `both` runs
 * the scenario on each and compares them probe by probe.
 */
import type { LoadedScenario } from '../scenario/load.ts';
import type { SidecarEngine } from '../lab/sidecars.ts';

export type SidecarChoice = SidecarEngine | 'both';
export const SIDECAR_CHOICES: readonly SidecarChoice[] = ['envoy', 'model', 'both'];

export interface EnginePlan {
  engines: SidecarEngine[];
  /** Why the plan is not what was asked for, to print with the run. */
  note?: string;
}

export function enginesFor(loaded: LoadedScenario, choice: SidecarChoice): EnginePlan {
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
