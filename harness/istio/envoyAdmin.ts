/**
 * A real sidecar's admin API (Envoy on 127.0.0.1:15000) and pilot-agent's readiness endpoint
 * (15021), read from inside the pod namespace with curl as root: the loopback RETURN rules of
 * istio-iptables keep these requests out of the capture, and their conntrack entries are
 * loopback-only, which the evidence ignores.
 */
import { existsSync, readFileSync } from 'node:fs';
import { inNetns } from '../proc/exec.ts';
import { parseStatsText } from '../core/stats.ts';

function curl(ns: string, url: string, method = 'GET'): Promise<string> {
  return inNetns(ns, 'curl', ['-sS', '--fail-with-body', '--max-time', '5', '-X', method, url], { timeoutMs: 8000 });
}

export function envoyAdmin(ns: string, path: string, method = 'GET'): Promise<string> {
  return curl(ns, `http://127.0.0.1:15000${path}`, method);
}

/** pilot-agent's /healthz/ready: Envoy is live and has its first listeners and clusters. */
export async function istioProxyReady(ns: string): Promise<boolean> {
  try {
    await curl(ns, 'http://127.0.0.1:15021/healthz/ready');
    return true;
  } catch {
    return false;
  }
}

/** Access-log lines in istio-proxy's output (Istio's TEXT format starts with the bracketed start time). */
export function accessLogLines(output: string): string[] {
  return output.split('\n').filter((l) => /^\[\d{4}-\d\d-\d\dT[^\]]+\] "/.test(l));
}

/**
 * What a real Envoy in a pod namespace shows the evidence: its /stats, its config_dump with EDS (as
 * istioctl proxy-config all gives it, so explain and replay read the endpoints), and the access log
 * in its output file. Envoy writes access logs out once a second (--file-flush-interval-msec);
 * reopening them flushes now.
 */
export function envoyEvidence(ns: string, logFile: string) {
  return {
    stats: async () => parseStatsText(await envoyAdmin(ns, '/stats')),
    configDump: () => envoyAdmin(ns, '/config_dump?include_eds'),
    accessLog: async () => {
      await envoyAdmin(ns, '/reopen_logs', 'POST');
      return existsSync(logFile) ? accessLogLines(readFileSync(logFile, 'utf8')).join('\n') + '\n' : '';
    },
  };
}
