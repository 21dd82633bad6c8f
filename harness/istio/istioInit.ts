/**
 * A sidecar pod's istio-init container: Istio's own istio-iptables (`pilot-agent istio-iptables`,
 * tools/istio-iptables/pkg/capture/run.go) with the flags the injector passes for the pod's
 * annotations, run as root in the pod namespace. The TypeScript generator (harness/model/iptables.ts)
 * computes the same flags; tests compare its restore text with this one's.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Workload } from '../scenario/schema.ts';
import { injectionArgs, injectionConfig } from '../model/iptables.ts';
import { inNetns, run } from '../proc/exec.ts';

/** The istio-init container's args for a pod's annotations (the modern injection template). */
export function istioInitArgs(w: Workload): string[] {
  return ['istio-iptables', ...injectionArgs(injectionConfig(w.annotations, 'modern'))];
}

/** The restore input istio-iptables logs before applying it ("Running iptables restore with: ..."). */
export function restoreInputFromLog(log: string): string {
  const lines = log.split('\n');
  const start = lines.findIndex((l) => /Running iptables restore with: .*the following input:/.test(l));
  if (start < 0) return '';
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    body.push(line);
    if (line === 'COMMIT') break;
  }
  return `${body.join('\n')}\n`;
}

/**
 * Applies the pod's rules; writes istio-init.log and the restore text it applied into dir. `env` is
 * what the injector gives istio-init from proxyMetadata (ISTIO_META_DNS_CAPTURE adds the DNS rules);
 * its names were checked to be environment variable names, so `env NAME=value` cannot take them
 * for options.
 */
export async function runIstioInit(
  pilotAgent: string,
  netns: string,
  w: Workload,
  dir: string,
  env: Record<string, string> = {},
): Promise<string> {
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const out = await inNetns(netns, 'env', [...assignments, pilotAgent, ...istioInitArgs(w)], { timeoutMs: 30_000 });
  writeFileSync(join(dir, 'istio-init.log'), out);
  const restore = restoreInputFromLog(out);
  writeFileSync(join(dir, 'iptables-restore.txt'), restore);
  return restore;
}

/** istio-iptables --dry-run: the restore text it would apply for these args, nothing applied. */
export async function istioIptablesDryRun(pilotAgent: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const out = await run('env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), pilotAgent, 'istio-iptables', ...args, '--dry-run'], {
    timeoutMs: 30_000,
  });
  return restoreInputFromLog(out);
}
