/**
 * Plain HTTP (seed 001's httpbin.org:80): the lab runs the httpbin-like server of
 * servers/httpbin.ts, the kind backend go-httpbin.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startInNetns, type LabProcess } from '../proc/processes.ts';
import { issueServerCert } from './certs.ts';
import type { ContainerSpec, ServerContext, ServerSpec, ServerType } from './serverType.ts';

const REPO = resolve(import.meta.dirname, '../..');

/**
 * go-httpbin rather than kennethreitz/httpbin: it is maintained, a small static binary built for
 * amd64 and arm64, serves the endpoints the scenarios use (/get, /headers, /status/N, /delay/N),
 * takes its port from $PORT and can serve HTTPS from a given certificate; the original image has
 * not been updated since 2018 and ships amd64 only.
 */
export const HTTPBIN_IMAGE = 'docker.io/mccutchen/go-httpbin:v2.15.0';

/** The httpbin-like server; with `tls`, its listeners hold a lab-CA certificate for the server's hostnames. */
export async function startHttpbin(srv: ServerSpec, ns: string, ctx: ServerContext, tls: boolean): Promise<LabProcess[]> {
  const dir = join(ctx.dir, srv.name);
  mkdirSync(dir, { recursive: true });
  const names = srv.hostnames.length > 0 ? srv.hostnames : srv.addresses;
  const cert = tls ? await issueServerCert(ctx.ca, dir, names) : undefined;
  const listen = srv.addresses.flatMap((address) =>
    srv.ports.map((port) => ({ address, port, ...(cert ? { tls: { certFile: cert.certFile, keyFile: cert.keyFile } } : {}) })),
  );
  const config = join(dir, 'httpbin.json');
  writeFileSync(config, JSON.stringify({ listen, name: names[0] }, null, 2));
  const server = await startInNetns({
    name: `${srv.kind} server ${srv.name}`,
    ns,
    argv: [process.execPath, '--import', 'tsx', join(REPO, 'harness/servers/httpbin.ts'), config],
    logFile: join(ctx.dir, `${srv.name}.log`),
    ready: /^READY$/,
    cgroup: ctx.cgroup,
  });
  return [server];
}

/** go-httpbin on the server's first port; it logs "go-httpbin listening on" once it listens. */
export function httpbinContainer(srv: ServerSpec, env: Record<string, string>, tls: boolean): ContainerSpec {
  return {
    env: { PORT: String(srv.ports[0] ?? 80), ...env },
    ready: { line: /go-httpbin listening on/, times: 1 },
    tls,
  };
}

export const http: ServerType = {
  name: 'http',
  summary: 'an httpbin-like HTTP server',
  startInLab: (srv, ns, ctx) => startHttpbin(srv, ns, ctx, false),
  image: HTTPBIN_IMAGE,
  container: (srv) => httpbinContainer(srv, {}, false),
  defaultProbe: (host, port) => ({ http: { url: `http://${host}:${port}/` } }),
  portNames: ['http'],
  wellKnownPort: (port) => port === 80 || port === 8080 || port === 8000,
};
