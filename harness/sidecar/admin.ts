/**
 * The sidecar's admin API (Envoy's, on 127.0.0.1:15000 inside the pod, and on a Unix socket in the
 * run directory so the harness can read it without entering the pod namespace).
 */
import http from 'node:http';
import type { StatsStore } from '../core/stats.ts';
import type { ProxyConfig } from '../model/types.ts';
import { renderConfigDump } from '../model/envoyConfig.ts';

export function adminHandler(config: ProxyConfig, stats: StatsStore): http.RequestListener {
  const dump = JSON.stringify(renderConfigDump(config), null, 2);
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (url.pathname === '/stats' && url.searchParams.get('format') === 'json') {
      const list = [...stats.snapshot()].map(([name, value]) => ({ name, value }));
      return send(200, 'application/json', JSON.stringify({ stats: list }));
    }
    if (url.pathname === '/stats') return send(200, 'text/plain', stats.renderText());
    if (url.pathname === '/config_dump') return send(200, 'application/json', dump);
    if (url.pathname === '/reset_counters') {
      if (req.method !== 'POST') return send(405, 'text/plain', 'This endpoint requires POST\n');
      stats.reset();
      return send(200, 'text/plain', 'OK\n');
    }
    if (url.pathname === '/ready') return send(200, 'text/plain', 'LIVE\n');
    if (url.pathname === '/server_info') {
      return send(
        200,
        'application/json',
        JSON.stringify({ version: `egress-lab sidecar model (Istio ${config.istioVersion})`, state: 'LIVE' }),
      );
    }
    return send(404, 'text/plain', 'invalid path. admin commands are: /stats /config_dump /reset_counters /ready /server_info\n');
  };
}
