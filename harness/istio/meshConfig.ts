/**
 * The mesh config lab-istiod reads (the istio ConfigMap's `mesh` key): the scenario's `meshConfig:`
 * as written, which lab-istiod merges over Istio's defaults as istiod merges the ConfigMap
 * (pkg/config/mesh ApplyMeshConfigDefaults), with what the lab must set applied after it:
 *
 * - `defaultProviders.metrics: []`: Istio's default metrics provider adds istio.stats filters
 *   (pilot/pkg/model/telemetry.go), which upstream Envoy does not have;
 * - `accessLogFile: /dev/stdout` and `accessLogEncoding: TEXT`: the sidecar's access log is part of
 *   the lab's evidence, read in Istio's text format;
 * - `defaultConfig.proxyStatsMatcher.inclusionPrefixes` gains the stats the lab reads
 *   (core/stats.ts), kept beside the scenario's own;
 * - `outboundTrafficPolicy` from the `mesh:` shorthand when meshConfig has none.
 *
 * Tracing stays at Istio's default (enableTracing true, no tracer), which upstream Envoy runs as is.
 * Every value the lab changes is returned as a note, printed as a fidelity note with the run.
 */
import { toGoYaml } from '../core/goYaml.ts';
import type { Scenario } from '../scenario/schema.ts';
import { MESH_STATS_PREFIXES } from '../core/stats.ts';
import { isMapping } from '../core/mapping.ts';

export interface LabMeshConfig {
  yaml: string;
  /** What the lab set over the scenario's own values, one line each. */
  notes: string[];
}

export function labMeshConfig(s: Scenario): LabMeshConfig {
  const given = structuredClone(s.meshConfig);
  const notes: string[] = [];
  const providers = isMapping(given.defaultProviders) ? given.defaultProviders : {};
  if (Array.isArray(providers.metrics) && providers.metrics.length > 0)
    notes.push(
      `meshConfig.defaultProviders.metrics ${JSON.stringify(providers.metrics)} was set to []: upstream Envoy has no istio.stats filter, so Istio's standard metrics are absent`,
    );
  if (given.accessLogFile !== undefined && given.accessLogFile !== '/dev/stdout')
    notes.push(
      `meshConfig.accessLogFile ${JSON.stringify(given.accessLogFile)} was set to /dev/stdout: the lab reads the sidecar's access log`,
    );
  const defaultConfig = isMapping(given.defaultConfig) ? given.defaultConfig : {};
  const matcher = isMapping(defaultConfig.proxyStatsMatcher) ? defaultConfig.proxyStatsMatcher : {};
  const included = Array.isArray(matcher.inclusionPrefixes) ? (matcher.inclusionPrefixes as unknown[]) : [];
  const mesh = {
    ...given,
    accessLogFile: '/dev/stdout',
    accessLogEncoding: 'TEXT',
    defaultProviders: { ...providers, metrics: [] },
    outboundTrafficPolicy: given.outboundTrafficPolicy ?? { mode: s.mesh.outboundTrafficPolicy },
    defaultConfig: {
      ...defaultConfig,
      proxyStatsMatcher: { ...matcher, inclusionPrefixes: [...new Set([...included, ...MESH_STATS_PREFIXES])] },
    },
  };
  return { yaml: toGoYaml(mesh), notes };
}

/** The scenario mesh config's defaultConfig: the proxy config every pod's is merged over. */
export function meshDefaultConfig(s: Scenario): Record<string, unknown> {
  return isMapping(s.meshConfig.defaultConfig) ? s.meshConfig.defaultConfig : {};
}
