/**
 * The one interface between the scenario runner and a place where scenarios run (the embedded netns
 * lab, or a kind cluster). The runner, the assertions and the reports never know which one ran.
 */
import type { ConntrackEntry } from '../evidence/conntrack.ts';
import type { ProbeResult } from '../probes/result.ts';
import type { ProbeSpec } from '../probes/registry.ts';
import type { Probe, Scenario } from '../scenario/schema.ts';
import type { AddressMapping } from '../scenario/addressMapping.ts';
import type { SimulationCall } from '../istio/simulation.ts';
import type { PathMatch } from '../model/pathTrace.ts';

export interface Progress {
  step(message: string): void;
}

/** What the sidecars of a run are: which engine and versions decide, and how its stats read. */
export interface SidecarInfo {
  /**
   * envoy: real Istio and upstream Envoy in the lab; model: the TypeScript model; replay: a
   * customer's config dump in upstream Envoy, no istiod (egress-lab replay); istio-proxy: a
   * cluster's own sidecar.
   */
  engine: 'envoy' | 'model' | 'replay' | 'istio-proxy';
  /** e.g. "real sidecar: Istio 1.31-dev (istio.io/istio@v0.0.0-...) with upstream Envoy 1.40.0". */
  describe: string;
  /** Whether /stats lists every stat the sidecar has, so an expected name missing from it is wrong. */
  statsListEveryName: boolean;
}

/**
 * Where a run ran, as run records and reports name it: the backend, with the sidecar engine where
 * the harness chose one (netns/envoy, netns/model, netns/replay); a cluster's own sidecar adds nothing (kind).
 */
export function siteName(backend: string, engine?: SidecarInfo['engine']): string {
  return engine && engine !== 'istio-proxy' ? `${backend}/${engine}` : backend;
}

/** Where this backend's runs ran (siteName). */
export function siteOf(backend: Pick<Backend, 'name' | 'sidecar'>): string {
  return siteName(backend.name, backend.sidecar?.engine);
}

export interface Backend {
  readonly name: string;
  /** Which sidecar produced the evidence. */
  readonly sidecar?: SidecarInfo;
  /** Where the run's sidecar differs from real Istio on a cluster (known once up() has started). */
  fidelityNotes?(): string[];
  /**
   * Brings up what exists before the scenario's objects: the topology or cluster, the external
   * servers. Returns the servers' addresses where the backend could not use the scenario's (kind);
   * the runner makes the effective scenario from them (harness/scenario/addressMapping.ts), and
   * every later call gets that scenario or a probe of it. A backend keeps no rewritten copy.
   */
  up(progress: Progress): Promise<AddressMapping[]>;
  /**
   * Applies the effective scenario's workloads and mesh objects where up() could not (kind), and
   * returns the pod IPs and ClusterIPs that were assigned instead of the scenario's.
   */
  deploy?(scenario: Scenario, progress: Progress): Promise<AddressMapping[]>;
  /** Waits until each sidecar has the effective scenario's config (the config gate; never a fixed sleep). */
  settle?(scenario: Scenario, progress: Progress): Promise<void>;
  /**
   * Whether probes expected to succeed may be retried (real Istio's config can still be settling).
   * The runner retries the whole probe, snapshots included, so the evidence is the last attempt's.
   */
  readonly retry?: { attempts: number; delayMs: number };
  /** How long the parts of up() took, once it has run (ms). */
  readonly upPhases?: { serversReadyMs?: number; sidecarsReadyMs?: number; controlPlaneReadyMs?: number; configLandedMs?: number };
  /** Runs a probe (of the effective scenario) in a workload's pod as a non-proxy user. */
  probe(workload: string, spec: ProbeSpec, probe?: Probe): Promise<ProbeResult>;
  /** The pod's conntrack table. */
  conntrack(workload: string): Promise<ConntrackEntry[]>;
  /** The pod namespace's iptables-save output. */
  iptablesSave(workload: string): Promise<string>;
  /**
   * Real Istio only: which listener, filter chain, route and cluster Istio's own simulation
   * (pilot/pkg/simulation) gives a call from the workload, over the config istiod generated for it.
   */
  simulatePath?(workload: string, call: SimulationCall): Promise<PathMatch | undefined>;
  /** The sidecar's counters, or undefined for a pod without a sidecar. */
  stats(workload: string): Promise<Map<string, number> | undefined>;
  /** Writes iptables, config dumps, access and server logs into the run directory. */
  collectArtifacts(scenario: Scenario): Promise<void>;
  /** Lines telling a user how to poke a kept lab. */
  keepInstructions(): string[];
  /** Removes everything up() created; safe to call twice and after a failed up(). */
  down(): Promise<void>;
}
