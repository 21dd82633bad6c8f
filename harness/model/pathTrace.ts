/**
 * The path a probe's connection takes through the pod, as the model predicts it: which iptables rule
 * of the nat OUTPUT path matched, whether it was redirected to 15001, which listener and filter
 * chain took it, which route and cluster, and where it went. The report page draws it next to the
 * evidence (conntrack legs, stats that moved).
 */

export type HopKind = 'client' | 'iptables' | 'sidecar' | 'listener' | 'filter-chain' | 'route' | 'cluster' | 'destination';

export interface PathHop {
  kind: HopKind;
  /** Short text for the drawing, e.g. "ISTIO_OUTPUT: -j ISTIO_REDIRECT", "0.0.0.0_7000". */
  label: string;
  /** Longer explanation for a tooltip or the table under the drawing. */
  detail?: string;
}

export interface PathTrace {
  /** From the client to the destination, in order. */
  hops: PathHop[];
  /** Whether iptables sent the connection to the sidecar. */
  captured: boolean;
  /** How the connection ends according to the model: forwarded, answered locally, closed, hangs. */
  outcome: 'forwarded' | 'local-reply' | 'closed' | 'waits' | 'direct';
  /** Things the model had to assume (e.g. the SNI of an https URL, unknown for raw TCP). */
  notes: string[];
}
