/**
 * Entry point of the sidecar process. The lab starts it inside the pod namespace as uid/gid 1337
 * (so istio-iptables' owner rules let its own connections out) with the path of a JSON file holding
 * { proxy: ProxyConfig, adminSocket: string }. It listens on 15001 (outbound), 15006 (inbound) and
 * 15000 (admin). It prints "READY" on stdout once it listens and
 * writes one access-log line per connection to stdout after that.
 */
import http from 'node:http';
import net from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { StatsStore } from '../core/stats.ts';
import type { ProxyConfig } from '../model/types.ts';
import { adminHandler } from './admin.ts';
import { OutboundProxy } from './proxy.ts';

interface SidecarFile {
  proxy: ProxyConfig;
  adminSocket: string;
}

function listen(server: net.Server, target: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(target, () => resolve());
  });
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: sidecar <config.json>');
  const { proxy, adminSocket } = JSON.parse(readFileSync(file, 'utf8')) as SidecarFile;
  const stats = new StatsStore();
  const outbound = new OutboundProxy({ config: proxy, stats, log: (line) => process.stdout.write(`${line}\n`) });
  const virtual = proxy.listeners.find((l) => l.useOriginalDst);
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => outbound.handle(s));
  await listen(server, { host: virtual?.address ?? '0.0.0.0', port: virtual?.port ?? 15001 });
  // virtualInbound: istio-iptables sends inbound TCP for the pod's ports here.
  const inbound = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => outbound.handleInbound(s));
  await listen(inbound, { host: '0.0.0.0', port: 15006 });
  const admin = adminHandler(proxy, stats);
  await listen(http.createServer(admin), { host: '127.0.0.1', port: 15000 });
  rmSync(adminSocket, { force: true });
  await listen(http.createServer(admin), { path: adminSocket });
  process.stdout.write('READY\n');
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`sidecar: ${err.message}\n`);
  process.exit(1);
});
