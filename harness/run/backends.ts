/**
 * The backends scenarios run on, one entry each, and everything the suite and the command line
 * decide by backend: whether it can run on this machine, whether scenarios may run on it side by
 * side, the runs one scenario makes on it, and what its runs leave on this host. `--backend both`
 * is every entry, the first compared with each other one.
 */
import { siteName, type Backend, type Progress } from '../backend/backend.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import { labCgroups } from '../proc/cgroup.ts';
import { labNamespaces } from '../lab/netns.ts';
import { LAB_PREFIX } from '../lab/topology.ts';
import { NetnsBackend } from '../lab/netnsBackend.ts';
import type { ReplayInput } from '../lab/replaySidecar.ts';
import type { SidecarEngine } from '../lab/sidecars.ts';
import { KindBackend, kindSkipReason } from '../kind/kindBackend.ts';
import { doctor } from '../kind/doctor.ts';
import { kindPlan, renderPlan } from '../kind/dryRun.ts';
import { enginesFor, type SidecarChoice } from './engines.ts';

export const BACKEND_NAMES = ['netns', 'kind'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
/** What --backend takes: one backend, or both (every backend, compared). */
export type BackendChoice = BackendName | 'both';
export const BACKEND_CHOICES: readonly BackendChoice[] = [...BACKEND_NAMES, 'both'];
/** Where a run goes when nobody says: the embedded lab. */
export const DEFAULT_BACKEND: BackendName = 'netns';

/** What a planned run needs to make its Backend. */
export interface RunContext {
  loaded: LoadedScenario;
  runDir: string;
  /** The run's own prefix (egl-xxxxxx): the lab names its namespaces and cgroup after it. */
  prefix: string;
  progress: Progress;
  /** The lab runs this config dump in Envoy instead of istiod's config (egress-lab replay). */
  replay?: ReplayInput;
}

/** One run of a scenario on a backend. */
export interface PlannedRun {
  /** Where it runs, as records name it: netns/envoy, netns/model, kind (siteName). */
  site: string;
  /** The lab's sidecar engine, when the run has one to choose: runs on two engines are compared. */
  engine?: SidecarEngine;
  /** Added to the scenario's name in the run directory's name, so one scenario's runs never share one. */
  dirSuffix: string;
  /** It runs the parts `npm run setup` builds (lab-istiod, pilot-agent, Envoy): checked before anything is created. */
  needsRealParts: boolean;
  /** Why the scenario cannot run there (kind: the seed era), or undefined. */
  skip?: string;
  /** Why the run is not what was asked for (the seed era on the model), printed with the run. */
  note?: string;
  create: (ctx: RunContext) => Backend;
}

export interface BackendEntry {
  name: BackendName;
  /** What a comparison of backends calls it. */
  label: string;
  /** For --help. */
  describe: string;
  /** Scenarios may run on it side by side: each lab run has its own prefix, namespaces and cgroup; kind shares one cluster. */
  parallel: boolean;
  /**
   * When it cannot run here, its runs are reported as skipped instead of the command refusing to
   * start: kind is optional (a nightly without Docker still reports the lab's runs).
   */
  skipWhenUnavailable: boolean;
  /** Why it cannot run on this machine, or undefined; asked once, before anything is created. */
  available: () => Promise<string | undefined>;
  /** The runs one scenario makes on it: the lab, one per sidecar engine; kind, one. */
  runsOf: (loaded: LoadedScenario, sidecar: SidecarChoice) => PlannedRun[];
  /** Why the scenario cannot run here as asked (checked before anything is created, the command exits 2), or undefined. */
  refusal?: (loaded: LoadedScenario, sidecar: SidecarChoice) => string | undefined;
  /** The commands a run would execute, for --dry-run (kind; the lab's set-up is no command list). */
  commandPlan?: (loaded: LoadedScenario) => string;
  /** The prefixes of its runs that still have something on this host: kept, in progress or crashed. */
  liveRuns?: () => Promise<string[]>;
  /** What the run with this prefix still has on this host, after its teardown. */
  leftovers?: (prefix: string) => Promise<string[]>;
}

const NETNS: BackendEntry = {
  name: 'netns',
  label: 'lab',
  describe: 'the embedded lab',
  parallel: true,
  skipWhenUnavailable: false,
  available: () =>
    Promise.resolve(process.getuid?.() === 0 ? undefined : 'the netns lab needs root (network namespaces, iptables); run with sudo'),
  refusal: (loaded, sidecar) => {
    const why = enginesFor(loaded, sidecar).refused;
    return why ? `${loaded.file}: cannot run: ${why}` : undefined;
  },
  runsOf: (loaded, sidecar) => {
    const plan = enginesFor(loaded, sidecar);
    return plan.engines.map((engine) => ({
      site: siteName('netns', engine),
      engine,
      dirSuffix: engine === 'model' ? '-model' : '',
      needsRealParts: engine === 'envoy',
      ...(plan.note ? { note: plan.note } : {}),
      create: (ctx) => new NetnsBackend(ctx.loaded, ctx.runDir, ctx.prefix, { engine, ...(ctx.replay ? { replay: ctx.replay } : {}) }),
    }));
  },
  liveRuns: async () => {
    const prefixOf = (name: string) => /^(egl-[0-9a-f]{6})/.exec(name)?.[1];
    const names = [...(await labNamespaces(LAB_PREFIX).catch(() => [])), ...labCgroups(LAB_PREFIX)];
    return [...new Set(names.map(prefixOf).filter((p): p is string => !!p))].sort();
  },
  leftovers: async (prefix) => [
    ...(await labNamespaces(`${prefix}-`)).map((n) => `namespace ${n}`),
    ...labCgroups(prefix)
      .filter((c) => c === prefix)
      .map((c) => `cgroup ${c}`),
  ],
};

const KIND: BackendEntry = {
  name: 'kind',
  label: 'kind',
  describe: 'a kind cluster with real Istio',
  parallel: false,
  skipWhenUnavailable: true,
  available: async () => {
    const engine = (await doctor()).checks.find((c) => /docker/i.test(c.name));
    return engine && !engine.ok ? `no Docker engine: ${engine.detail}` : undefined;
  },
  runsOf: (loaded) => {
    const skip = kindSkipReason(loaded);
    return [
      {
        site: siteName('kind'),
        dirSuffix: '-kind',
        needsRealParts: false,
        ...(skip ? { skip } : {}),
        create: (ctx) => new KindBackend(ctx.loaded, ctx.runDir, (line) => ctx.progress.step(line)),
      },
    ];
  },
  commandPlan: (loaded) => renderPlan(kindPlan(loaded)),
};

/** Every backend, in the order a scenario runs on them with --backend both. */
export const BACKENDS: readonly BackendEntry[] = [NETNS, KIND];

export function backendNamed(name: BackendName): BackendEntry {
  return BACKENDS.find((b) => b.name === name)!;
}

/** The backends a --backend choice runs on. */
export function backendsFor(choice: BackendChoice): BackendEntry[] {
  return choice === 'both' ? [...BACKENDS] : [backendNamed(choice)];
}

/** Run prefixes with something on this host, on any backend: their run directories are never pruned. */
export async function liveRunPrefixes(): Promise<string[]> {
  const all = await Promise.all(BACKENDS.map((b) => b.liveRuns?.() ?? Promise.resolve([])));
  return [...new Set(all.flat())].sort();
}
