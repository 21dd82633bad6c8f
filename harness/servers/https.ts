/**
 * HTTPS (seed 001's www.baidu.com:443): the httpbin-like server with a lab-CA certificate for the
 * server's hostnames; probes trust the lab CA, so a wrong name fails as curl exit 51/60 would.
 */
import { HTTPBIN_IMAGE, httpbinContainer, startHttpbin } from './http.ts';
import type { ServerType } from './serverType.ts';

/** Where the kind backend copies an HTTPS server's certificate and key, and the go-httpbin variables that name them. */
export const HTTPS_FILES = { cert: '/certs/server.crt', key: '/certs/server.key' };
const HTTPS_ENV = { HTTPS_CERT_FILE: HTTPS_FILES.cert, HTTPS_KEY_FILE: HTTPS_FILES.key };

export const https: ServerType = {
  name: 'https',
  summary: 'an httpbin-like HTTPS server with a lab-CA certificate for its hostnames',
  startInLab: (srv, ns, ctx) => startHttpbin(srv, ns, ctx, true),
  image: HTTPBIN_IMAGE,
  container: (srv) => httpbinContainer(srv, HTTPS_ENV, true),
  defaultProbe: (host, port) => ({ http: { url: `https://${host}:${port}/` } }),
  portNames: ['https', 'tls'],
  wellKnownPort: (port) => port === 443 || port === 8443,
};
