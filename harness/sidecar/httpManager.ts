/**
 * The HTTP connection manager of an outbound listener (Envoy's source/common/http/conn_manager_impl.cc;
 * routes from pilot/pkg/networking/core/httproute.go): Node's HTTP/1.1
 * parser (llhttp) reads the requests, the route configuration picks a virtual host by Host, and the
 * request goes to a cluster (with the headers Istio's sidecar adds), to the original destination
 * (allow_any), or gets a direct response (block_all 502). Codec errors get Envoy's 400 bytes.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { IstioEra } from '../scenario/istioVersion.ts';
import { clusterStat, httpStat, type StatsStore } from '../core/stats.ts';
import { formatAccessLog, type AccessLogRecord } from '../model/accessLog.ts';
import type { Endpoint, RouteConfig, VirtualHost } from '../model/types.ts';
import { PASSTHROUGH } from '../model/clusters.ts';
import { badRequest } from './httpCodec.ts';
import { selectVirtualHost } from '../model/routes.ts';

export interface HcmDeps {
  era: IstioEra;
  stats: StatsStore;
  log: (line: string) => void;
  routes: RouteConfig[];
  /** Picks an upstream host of a cluster (ORIGINAL_DST uses the original destination). */
  pickHost: (cluster: string, originalDst: Endpoint) => Promise<Endpoint | undefined>;
}

export interface HcmConnection {
  socket: Socket;
  /** Bytes the listener filters already read; they are the start of the first request. */
  pending: Buffer;
  originalDst: Endpoint;
  statPrefix: string;
  routeConfigName: string;
}

/** Headers a local reply carries, lower-case and in Envoy's order. */
function localReply(res: http.ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  res.sendDate = false;
  res.removeHeader('connection');
  const headers: Record<string, string> = {
    ...(body ? { 'content-length': String(Buffer.byteLength(body)), 'content-type': 'text/plain' } : {}),
    date: new Date().toUTCString(),
    server: 'envoy',
    ...extra,
  };
  if (!body) headers['content-length'] = '0';
  res.writeHead(status, headers);
  res.end(body);
}

const addr = (e: { address?: string; port?: number }) => `${e.address ?? '-'}:${e.port ?? 0}`;

export class HttpConnectionManager {
  constructor(private readonly deps: HcmDeps) {}

  private stat(prefix: string, s: string): string {
    return httpStat(prefix, s, this.deps.era);
  }

  /** Takes over a downstream connection whose first bytes are already in `pending`. */
  serve(c: HcmConnection): void {
    const server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 0 } as http.ServerOptions);
    server.keepAliveTimeout = 0;
    this.deps.stats.inc(this.stat(c.statPrefix, 'downstream_cx_total'));
    server.on('request', (req, res) => void this.onRequest(c, req, res));
    server.on('clientError', (_err, socket: Socket) => this.codecError(c, socket));
    if (c.pending.length > 0) c.socket.unshift(c.pending);
    server.emit('connection', c.socket);
    c.socket.resume();
  }

  /** Non-HTTP bytes reached the codec: Envoy answers 400 and closes (DPE). */
  private codecError(c: HcmConnection, socket: Socket): void {
    const bytes = badRequest(this.deps.era, new Date());
    this.deps.stats.inc(this.stat(c.statPrefix, 'downstream_cx_protocol_error'));
    this.deps.stats.inc(this.stat(c.statPrefix, 'downstream_rq_4xx'));
    this.writeLog({
      ...this.baseRecord(c, socket),
      responseCode: 400,
      responseFlags: ['DPE'],
      responseCodeDetails: 'http1.codec_error',
      bytesReceived: c.pending.length,
      bytesSent: Buffer.byteLength(bytes),
    });
    if (socket.writable) socket.end(bytes);
    else socket.destroy();
  }

  private baseRecord(c: HcmConnection, socket: Socket): AccessLogRecord {
    return {
      startTime: new Date(),
      responseCode: 0,
      responseFlags: [],
      bytesReceived: 0,
      bytesSent: 0,
      durationMs: 0,
      downstreamLocalAddress: addr(c.originalDst),
      downstreamRemoteAddress: addr({ address: socket.remoteAddress, port: socket.remotePort }),
    };
  }

  private writeLog(r: AccessLogRecord): void {
    this.deps.log(formatAccessLog(r));
  }

  private async onRequest(c: HcmConnection, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    const requestId = (req.headers['x-request-id'] as string | undefined) ?? randomUUID();
    const record: AccessLogRecord = {
      ...this.baseRecord(c, req.socket),
      method: req.method,
      path: req.url,
      protocol: `HTTP/${req.httpVersion}`,
      authority: req.headers.host,
      userAgent: req.headers['user-agent'],
      requestId,
      xForwardedFor: req.headers['x-forwarded-for'] as string | undefined,
    };
    res.on('finish', () => {
      record.durationMs = Date.now() - started;
      record.responseCode = res.statusCode;
      this.deps.stats.inc(this.stat(c.statPrefix, `downstream_rq_${Math.floor(res.statusCode / 100)}xx`));
      this.writeLog(record);
    });
    this.deps.stats.inc(this.stat(c.statPrefix, 'downstream_rq_total'));
    const config = this.deps.routes.find((r) => r.name === c.routeConfigName);
    const vh = selectVirtualHost(config, req.headers.host ?? '');
    if (!vh) {
      // No virtual host at all (not the normal outbound case): 404 NR.
      record.responseFlags = ['NR'];
      record.responseCodeDetails = 'route_not_found';
      return localReply(res, 404, '');
    }
    record.routeName = vh.routeName;
    if (vh.action.kind === 'direct_response') {
      this.deps.stats.inc(this.stat(c.statPrefix, 'rq_direct_response'));
      record.responseCodeDetails = 'direct_response';
      return localReply(res, vh.action.status, '');
    }
    const cluster = vh.action.kind === 'cluster' ? vh.action.cluster : PASSTHROUGH;
    const timeoutMs = vh.action.kind === 'cluster' ? vh.action.timeoutMs : 0;
    record.upstreamCluster = cluster;
    await this.forward(c, req, res, { vh, cluster, timeoutMs, requestId, record, started });
  }

  private async forward(
    c: HcmConnection,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    r: { vh: VirtualHost; cluster: string; timeoutMs: number; requestId: string; record: AccessLogRecord; started: number },
  ): Promise<void> {
    const stat = (s: string) => clusterStat(r.cluster, s, this.deps.era);
    const host = await this.deps.pickHost(r.cluster, c.originalDst);
    if (!host) {
      this.deps.stats.inc(stat('upstream_cx_none_healthy'));
      r.record.responseFlags = ['UH'];
      r.record.responseCodeDetails = 'no_healthy_upstream';
      return localReply(res, 503, 'no healthy upstream');
    }
    r.record.upstreamHost = addr(host);
    this.deps.stats.inc(stat('upstream_cx_total'));
    this.deps.stats.inc(stat('upstream_rq_total'));
    const headers: http.OutgoingHttpHeaders = {
      ...req.headers,
      'x-forwarded-proto': 'http',
      'x-request-id': r.requestId,
      // Current Istio's virtual hosts set include_request_attempt_count (seen upstream on Envoy 1.40.0).
      ...(this.deps.era === 'modern' ? { 'x-envoy-attempt-count': '1' } : {}),
      ...(r.vh.decorator ? { 'x-envoy-decorator-operation': r.vh.decorator } : {}),
      ...(r.timeoutMs > 0 ? { 'x-envoy-expected-rq-timeout-ms': String(r.timeoutMs) } : {}),
    };
    const upstream = http.request({ host: host.address, port: host.port, method: req.method, path: req.url, headers, agent: false });
    // Envoy's HTTP/1.1 requests carry no Connection header (it pools connections); Node would add
    // "Connection: close". The model sends none either and closes once the response is in.
    upstream.removeHeader('connection');
    let answered = false;
    const timer =
      r.timeoutMs > 0
        ? setTimeout(() => {
            answered = true;
            upstream.destroy();
            this.deps.stats.inc(stat('upstream_rq_timeout'));
            this.deps.stats.inc(stat('upstream_rq_504'));
            this.deps.stats.inc(stat('external.upstream_rq_504'));
            r.record.responseFlags = ['UT'];
            r.record.responseCodeDetails = 'response_timeout';
            localReply(res, 504, 'upstream request timeout');
          }, r.timeoutMs)
        : undefined;
    upstream.on('socket', (s) => {
      s.on('connect', () => (r.record.upstreamLocalAddress = addr({ address: s.localAddress, port: s.localPort })));
      // Bytes on the upstream connection, headers included (Envoy's exact header set differs).
      s.on('data', (b: Buffer) => this.deps.stats.inc(stat('upstream_cx_rx_bytes_total'), b.length));
      s.on('close', () => this.deps.stats.inc(stat('upstream_cx_tx_bytes_total'), s.bytesWritten));
    });
    upstream.on('response', (up) => {
      clearTimeout(timer);
      if (answered) return up.resume();
      answered = true;
      // The app's requests carry no x-envoy-internal, so Envoy also counts them as external.
      this.deps.stats.inc(stat(`upstream_rq_${up.statusCode ?? 0}`));
      this.deps.stats.inc(stat(`external.upstream_rq_${up.statusCode ?? 0}`));
      r.record.responseCodeDetails = 'via_upstream';
      res.sendDate = false;
      res.removeHeader('connection');
      // server_header_transformation OVERWRITE (Envoy's default): the client sees "server: envoy".
      const out: http.OutgoingHttpHeaders = {
        ...up.headers,
        server: 'envoy',
        'x-envoy-upstream-service-time': String(Date.now() - r.started),
      };
      delete out.connection;
      delete out['keep-alive'];
      res.writeHead(up.statusCode ?? 502, out);
      up.on('data', (b: Buffer) => (r.record.bytesSent += b.length));
      up.once('end', () => upstream.socket?.destroy());
      up.pipe(res);
    });
    upstream.on('error', (err) => {
      clearTimeout(timer);
      if (answered) return;
      answered = true;
      this.deps.stats.inc(stat('upstream_cx_connect_fail'));
      r.record.responseFlags = ['UF'];
      r.record.responseCodeDetails = 'upstream_reset_before_response_started{remote_connection_failure}';
      r.record.upstreamTransportFailureReason = err.message;
      localReply(res, 503, 'upstream connect error or disconnect/reset before headers. reset reason: remote connection failure');
    });
    req.on('data', (b: Buffer) => (r.record.bytesReceived += b.length));
    req.pipe(upstream);
  }
}
