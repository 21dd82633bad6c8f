/**
 * What a sidecar pod's sidecar is in the netns lab: the real one (Istio's istio-iptables,
 * pilot-agent and upstream Envoy, configured by lab-istiod) or the TypeScript model. The backend
 * starts one SidecarRuntime per run and asks it for one PodSidecar per sidecar pod; everything
 * else in the lab (namespaces, servers, probes, conntrack) is the same for both.
 */
import type { Progress } from '../backend/backend.ts';
import type { Workload } from '../scenario/schema.ts';
import type { SimulationCall } from '../istio/simulation.ts';
import type { PathMatch } from '../model/pathTrace.ts';

/** The engine a run asks for; a replay runs the envoy engine's parts with the customer's dump (engine name: replay). */
export type SidecarEngine = 'envoy' | 'model';

export interface SidecarPodContext {
  workload: Workload;
  /** The pod's network namespace. */
  netns: string;
  /** The pod's run directory (pods/<name>). */
  dir: string;
  progress: Progress;
}

export interface PodSidecar {
  /** Every counter and gauge the sidecar's admin /stats lists. */
  stats(): Promise<Map<string, number>>;
  /** The admin /config_dump, as text. */
  configDump(): Promise<string>;
  /** One line per connection, in Istio's TEXT access-log format, everything logged so far. */
  accessLog(): Promise<string>;
  /** Real Istio only: Istio's simulation of a call over the config istiod generated for this pod. */
  simulate?(call: SimulationCall): Promise<PathMatch>;
}

export interface SidecarRuntime {
  readonly engine: SidecarEngine | 'replay';
  /** Which Istio and Envoy decide what the sidecar does, for the run output and the reports. */
  readonly describe: string;
  /**
   * Whether /stats lists every stat the sidecar has (real Envoy), so that an expected stat missing
   * from it is a wrong name; the model creates stats only when they first move.
   */
  readonly statsListEveryName: boolean;
  /** Runs before any pod starts (the real engine starts its control plane here). */
  start(progress: Progress): Promise<void>;
  /** istio-init's rules and the sidecar of one pod. */
  startPod(ctx: SidecarPodContext): Promise<PodSidecar>;
  /** Runs once every pod is up: the real engine waits until each Envoy holds what istiod generated. */
  settle(progress: Progress): Promise<void>;
}
