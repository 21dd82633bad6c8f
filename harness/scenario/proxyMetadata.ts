/**
 * proxyMetadata, in a pod's proxy.istio.io/config annotation or the mesh config's defaultConfig,
 * becomes environment variables of istio-init and istio-proxy (the injection template), so its
 * names must be environment variable names and its values text: checked here, before anything
 * runs, since the lab passes them on to processes.
 */
import { parse as parseYaml } from 'yaml';
import type { Scenario } from './schema.ts';
import { isMapping } from '../core/mapping.ts';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface MetadataIssue {
  keys: (string | number)[];
  message: string;
}

function metadataIssues(metadata: unknown, keys: (string | number)[], what: string): MetadataIssue[] {
  if (metadata === undefined) return [];
  if (!isMapping(metadata)) return [{ keys, message: `${what}: proxyMetadata must be a mapping of names to values` }];
  return Object.entries(metadata).flatMap(([name, value]): MetadataIssue[] => {
    if (!ENV_NAME.test(name))
      return [{ keys, message: `${what}: proxyMetadata name "${name}" is not an environment variable name (letters, digits, _)` }];
    if (typeof value === 'object' && value !== null) return [{ keys, message: `${what}: proxyMetadata ${name} must be a text value` }];
    if (String(value).includes('\0')) return [{ keys, message: `${what}: proxyMetadata ${name} contains a NUL byte` }];
    return [];
  });
}

/** The pod's proxy.istio.io/config, parsed; an issue when it is not a YAML mapping. */
export function podProxyConfigAnnotation(value: string | undefined): Record<string, unknown> | string {
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = parseYaml(value);
  } catch (err) {
    return `is not YAML: ${(err as Error).message.split('\n')[0]}`;
  }
  return parsed === null || parsed === undefined ? {} : isMapping(parsed) ? parsed : 'is not a YAML mapping';
}

export function proxyMetadataIssues(s: Scenario): MetadataIssue[] {
  const issues: MetadataIssue[] = [];
  s.workloads.forEach((w, n) => {
    const keys = ['workloads', n, 'annotations', 'proxy.istio.io/config'];
    const config = podProxyConfigAnnotation(w.annotations['proxy.istio.io/config']);
    if (typeof config === 'string') issues.push({ keys, message: `proxy.istio.io/config ${config}` });
    else issues.push(...metadataIssues(config.proxyMetadata, keys, 'proxy.istio.io/config'));
  });
  const defaultConfig = s.meshConfig.defaultConfig;
  if (isMapping(defaultConfig))
    issues.push(
      ...metadataIssues(defaultConfig.proxyMetadata, ['meshConfig', 'defaultConfig', 'proxyMetadata'], 'meshConfig.defaultConfig'),
    );
  return issues;
}

/** Whether a workload's proxy config has proxyMetadata (which the model does not model). */
export function hasProxyMetadata(annotation: string | undefined): boolean {
  const config = podProxyConfigAnnotation(annotation);
  return typeof config !== 'string' && config.proxyMetadata !== undefined;
}
