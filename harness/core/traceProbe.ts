/** What the sidecar sees of a connection first, for the path trace (and Istio's simulation of it). */
export interface TraceProbe {
  /** What the client dials: an IP or a name (resolvedIp is what it resolved to). */
  host: string;
  port: number;
  /** Set for curl probes: https means a TLS ClientHello, http an HTTP/1.1 request. */
  scheme?: 'http' | 'https';
  /** The Host header of an HTTP request (curl sends the URL host, unless the probe gives its own). */
  hostHeader?: string;
  /** An HTTP request's path and its other headers, which route matches may read. */
  path?: string;
  headers?: Record<string, string>;
  /** Whether the client speaks first (Redis, HTTP) or waits for a server greeting (MySQL). */
  sendsFirst: boolean;
  /** The first bytes a raw TCP client sends, for http_inspector and the HTTP codec. */
  firstBytes?: string;
}
