/**
 * What a scenario run produced, as data: one shape in memory and in result.json (a run directory's
 * result.json reads back as a ScenarioOutcome, see harness/report/evidenceFiles.ts). The reports
 * render it; nothing in it is computed by them.
 */
import type { SidecarInfo } from '../backend/backend.ts';
import type { ProbeLegs } from '../evidence/conntrack.ts';
import type { PathMatch, PathTrace } from '../model/pathTrace.ts';
import type { ProbeResult } from '../probes/result.ts';
import type { Probe } from '../scenario/schema.ts';
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
  /** The run was stopped (Ctrl-C, the run timeout) while this probe was in flight: no verdict. */
  interrupted?: boolean;
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
  /** The run was stopped (Ctrl-C, the run timeout) before the scenario finished. */
  interrupted?: boolean;
  runDir: string;
  /** Which backend ran it: netns or kind. */
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
