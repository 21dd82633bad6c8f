/**
 * What a scenario run produced, as data: one shape in memory and in result.json (a run directory's
 * result.json reads back as a ScenarioOutcome, see harness/report/evidenceFiles.ts). The reports
 * render it; nothing in it is computed by them. Also the EvidenceSink, where the runner hands the
 * evidence as the run goes, so that the runner never knows which files hold it.
 */
import type { SidecarInfo } from '../backend/backend.ts';
import type { ConntrackEntry, ProbeLegs } from '../evidence/conntrack.ts';
import type { PathMatch, PathTrace } from '../model/pathTrace.ts';
import type { ProbeResult } from '../probes/result.ts';
import type { Probe } from '../scenario/schema.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import type { Check } from './assertions.ts';
import type { AddressMapping } from '../scenario/addressMapping.ts';

export interface ProbeOutcome {
  probe: Probe;
  result?: ProbeResult;
  error?: string;
  checks: Check[];
  legs?: ProbeLegs;
  /** Per stat name, how much it moved during the probe (only the ones that moved). */
  statsDiff?: Record<string, number>;
  /** The path the model predicts for this connection, drawn in the report next to the evidence. */
  trace?: PathTrace;
  traceError?: string;
  /** With real Istio: the path Istio's own simulation gives the same connection over istiod's config. */
  istioPath?: PathMatch;
  /** How many times the probe ran (only backends that allow retries run one more than once). */
  attempts?: number;
  /** Why the run was stopped (Ctrl-C, the run timeout) while this probe was in flight: no verdict. */
  interrupted?: string;
  ok: boolean;
}

/** Wall time of each phase: lab up (within it: servers ready, pods and sidecars ready), probes, teardown. */
export interface RunPhases {
  upMs: number;
  probesMs: number;
  downMs: number;
  serversReadyMs?: number;
  sidecarsReadyMs?: number;
  controlPlaneReadyMs?: number;
  configLandedMs?: number;
}

export interface ScenarioOutcome {
  name: string;
  ok: boolean;
  /** Why the run was stopped (Ctrl-C, the run timeout) before the scenario finished; absent when it finished. */
  interrupted?: string;
  runDir: string;
  /** Where it ran: netns/envoy, netns/model or kind (siteName in harness/backend/backend.ts). */
  backend: string;
  /** Where the backend used other addresses than the scenario's (kind): the evidence and checks use the real ones. */
  addresses?: AddressMapping[];
  probes: ProbeOutcome[];
  /** Checks on pod state after set-up (iptables-save). */
  podChecks: Check[];
  /** Where the run's sidecar differs from real Istio on a cluster (also printed at the start of the run). */
  fidelityNotes?: string[];
  /** Which sidecar produced the evidence: engine and versions. */
  sidecar?: SidecarInfo;
  error?: string;
  durationMs: number;
  timings: RunPhases;
}

/** What one probe attempt saw around the client's result: conntrack and the sidecar's stats, before and after. */
export interface ProbeEvidence {
  result: ProbeResult;
  conntrackBefore: ConntrackEntry[];
  conntrackAfter: ConntrackEntry[];
  statsBefore?: Map<string, number>;
  statsAfter?: Map<string, number>;
  statsDiff?: Record<string, number>;
}

/**
 * Where the runner hands a scenario's evidence as the run goes (the run directory's files:
 * harness/report/evidenceFiles.ts). A retried probe's evidence comes once per attempt, so the last
 * attempt's is what stays.
 */
export interface EvidenceSink {
  /** Before anything runs: the scenario as it is run. */
  scenarioStarted(loaded: LoadedScenario): void;
  probeEvidence(probe: Probe, evidence: ProbeEvidence): void;
  /** After teardown: the outcome the runner returns. */
  scenarioDone(outcome: ScenarioOutcome): void;
}
