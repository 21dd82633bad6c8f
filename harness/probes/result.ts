// What a probe saw, shared by the probe agent (inside a pod netns), the kind backend and the harness.
// Each kind's spec (what the agent is sent) lives in the kind's module; ProbeSpec, their union, in registry.ts.

export type ConnectOutcome = 'ok' | 'refused' | 'timeout' | 'unreachable' | 'error';
export type EndKind = 'eof' | 'reset' | 'idle' | 'not-connected';
export interface ProbeResult {
  /** The probe type's name (harness/probes/registry.ts PROBE_TYPES). */
  kind: string;
  target: string; // "host:port" as given (http: the URL's host and port, default 80/443)
  address?: string; // resolved IP actually dialled
  localAddress?: string;
  localPort?: number; // the client's ephemeral port: the harness finds its conntrack leg by it
  connect: ConnectOutcome;
  received: string; // bytes received, decoded latin1 (raw TCP), or '' for redis, http (see body) and mysql
  receivedBytes: number;
  end: EndKind; // eof = peer closed (FIN), reset = ECONNRESET, idle = nothing more within readTimeoutMs and still open
  errorClass: string; // 'none' | 'refused' | 'reset' | 'eof' | 'timeout' | 'unreachable' | 'protocol' | 'reply-error' | 'closed' | 'error'
  // | 'access-denied' | 'server-error' (mysql) | 'curl-<exit code>' (http)
  error?: string; // the client's error message (e.g. ioredis' "NOAUTH Authentication required.")
  reply?: string; // redis: the reply rendered as text; mysql: the value SELECT 1 returned
  durationMs: number;
  // http (curl):
  exitCode?: number; // curl's exit code
  httpStatus?: number; // %{http_code}; absent when curl saw no response (000)
  headers?: Record<string, string>; // the final response block's headers: lower-cased names, last value wins
  body?: string; // the first 4 KiB of the body, utf8 ('' for head probes)
  curlError?: string; // curl's own error line, e.g. "curl: (60) SSL: no alternative certificate subject name matches target host name 'www.163.com'"
  // mysql:
  serverVersion?: string; // the version string of the server greeting, verbatim (MariaDB: "5.5.5-10.11.19-MariaDB-...")
}
