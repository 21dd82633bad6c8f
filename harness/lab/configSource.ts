/**
 * Where `proxy-config` reads a config_dump from: a saved file, or the sidecar of a kept lab, found by
 * pod name through the lab's namespaces and asked on its admin port (127.0.0.1:15000 in the pod
 * namespace, real Envoy or the model alike).
 */
import { existsSync, readFileSync } from 'node:fs';
import { labNamespaces } from './netns.ts';
import { LAB_PREFIX } from './topology.ts';
import { envoyAdmin } from '../istio/envoyAdmin.ts';
import type { ProxyConfigFilters, ProxyConfigKind } from '../views/proxyConfig.ts';

export const PROXY_CONFIG_KINDS: ProxyConfigKind[] = ['listener', 'cluster', 'route', 'endpoint'];

export interface ProxyConfigOptions extends ProxyConfigFilters {
  prefix?: string;
  output: 'short' | 'json';
}

/** The run prefix of the one kept lab that has this pod (or the one --prefix names). */
async function keptLabPrefix(pod: string, prefix?: string): Promise<string> {
  const suffix = `-pod-${pod}`;
  const prefixes = (await labNamespaces(prefix ?? LAB_PREFIX)).filter((n) => n.endsWith(suffix)).map((n) => n.slice(0, -suffix.length));
  if (prefixes.length === 1) return prefixes[0]!;
  if (prefixes.length === 0)
    throw new Error(`no kept lab has a pod "${pod}" (run a scenario with --keep, or pass a config_dump.json path)`);
  throw new Error(`several kept labs have a pod "${pod}": ${prefixes.join(', ')}; choose one with --prefix`);
}

export async function loadConfigDump(target: string, opts: Pick<ProxyConfigOptions, 'prefix'>): Promise<unknown> {
  if (existsSync(target)) return JSON.parse(readFileSync(target, 'utf8'));
  const prefix = await keptLabPrefix(target, opts.prefix);
  try {
    return JSON.parse(await envoyAdmin(`${prefix}-pod-${target}`, '/config_dump'));
  } catch (err) {
    throw new Error(
      `lab ${prefix} is up, but pod "${target}" has no sidecar answering on 127.0.0.1:15000 (does the pod have a sidecar?): ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    );
  }
}
