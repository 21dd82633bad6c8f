/**
 * Istio's default TEXT access log line (pilot/pkg/model/telemetry_logging.go; the short response flags are Envoy's source/common/stream_info/utility.h), so the
 * model can print exactly what a real sidecar would for the same decision.
 */

export interface AccessLogRecord {
  startTime: Date;
  /** HTTP only; undefined for TCP, which prints `"- - -"`. */
  method?: string;
  path?: string;
  protocol?: string;
  /** 0 for TCP and for HTTP streams that never got a response. */
  responseCode: number;
  /** Envoy short flags (UH, UF, NR, DPE, ...); empty prints `-`. */
  responseFlags: string[];
  responseCodeDetails?: string;
  connectionTerminationDetails?: string;
  upstreamTransportFailureReason?: string;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstreamServiceTime?: number;
  xForwardedFor?: string;
  userAgent?: string;
  requestId?: string;
  authority?: string;
  upstreamHost?: string;
  upstreamCluster?: string;
  upstreamLocalAddress?: string;
  /** The original destination (what the client dialled), not Envoy's listener address. */
  downstreamLocalAddress?: string;
  downstreamRemoteAddress?: string;
  requestedServerName?: string;
  routeName?: string;
}

/** Envoy prints a missing value as `-`. */
function dash(v: string | number | undefined): string {
  return v === undefined || v === '' ? '-' : String(v);
}

function quoted(v: string | undefined): string {
  return `"${dash(v)}"`;
}

/** `%START_TIME%` default: `%Y-%m-%dT%H:%M:%E3SZ` in UTC, which is what toISOString yields. */
function startTime(d: Date): string {
  return `[${d.toISOString()}]`;
}

function requestLine(r: AccessLogRecord): string {
  return `"${dash(r.method)} ${dash(r.path)} ${dash(r.protocol)}"`;
}

function flags(f: string[]): string {
  return f.length === 0 ? '-' : f.join(',');
}

/** One log line, without the trailing newline Envoy's format string appends. */
export function formatAccessLog(r: AccessLogRecord): string {
  return [
    startTime(r.startTime),
    requestLine(r),
    String(r.responseCode),
    flags(r.responseFlags),
    dash(r.responseCodeDetails),
    dash(r.connectionTerminationDetails),
    quoted(r.upstreamTransportFailureReason),
    String(r.bytesReceived),
    String(r.bytesSent),
    String(Math.trunc(r.durationMs)), // Envoy prints whole milliseconds
    dash(r.upstreamServiceTime),
    quoted(r.xForwardedFor),
    quoted(r.userAgent),
    quoted(r.requestId),
    quoted(r.authority),
    quoted(r.upstreamHost),
    dash(r.upstreamCluster),
    dash(r.upstreamLocalAddress),
    dash(r.downstreamLocalAddress),
    dash(r.downstreamRemoteAddress),
    dash(r.requestedServerName),
    dash(r.routeName),
  ].join(' ');
}
