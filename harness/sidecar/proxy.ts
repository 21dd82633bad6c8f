/**
 * The outbound proxy: what istio-proxy does with a connection that iptables redirected to 15001.
 * Listener hand-off and filter-chain choice are the pure model's (harness/model/filterChain.ts);
 * this file does the I/O: inspecting first bytes, tcp_proxy to a cluster, and the small HTTP
 * connection manager the scenarios need.
 */
import net, { type Socket } from 'node:net';
import { lookup } from 'node:dns/promises';
import { matchFilterChain, needsHttpInspection, selectListener, type ConnectionFacts } from '../model/filterChain.ts';
import { clusterStat, httpStat, listenerStat, tcpStat, type StatsStore } from '../model/stats.ts';
import { formatAccessLog, type AccessLogRecord } from '../model/accessLog.ts';
import type { Cluster, Endpoint, FilterChain, Listener, ProxyConfig, RouteAction, RouteConfig } from '../model/types.ts';
import { inspectHttp } from './inspector.ts';
import { badRequest, blockAll502, parseRequestHead, responseStatus } from './httpCodec.ts';
import { originalDst } from './originalDst.ts';

export interface ProxyDeps {
  config: ProxyConfig;
  stats: StatsStore;
  log: (line: string) => void;
}

/** Per-connection bookkeeping that ends up in the access log. */
interface Conn {
  downstream: Socket;
  start: Date;
  dst: Endpoint;
  /** Bytes read from the client but not yet sent upstream (Envoy would still have them in the kernel). */
  pending: Buffer;
  record: AccessLogRecord;
}

const INSPECTOR_STAT: Record<string, string> = {
  'not-http': 'http_inspector.http_not_found',
  h2c: 'http_inspector.http2_found',
  'http/1.1': 'http_inspector.http11_found',
  'http/1.0': 'http_inspector.http10_found',
};

const addr = (host: string | undefined, port: number | undefined) => `${host ?? '-'}:${port ?? 0}`;

export class OutboundProxy {
  private readonly clusters: Map<string, Cluster>;
  private readonly rr = new Map<string, number>();

  constructor(private readonly deps: ProxyDeps) {
    this.clusters = new Map(deps.config.clusters.map((c) => [c.name, c]));
  }

  get era() {
    return this.deps.config.era;
  }

  handle(downstream: Socket): void {
    const start = new Date();
    let dst: Endpoint;
    try {
      dst = originalDst(downstream);
    } catch {
      dst = { address: downstream.localAddress ?? '0.0.0.0', port: downstream.localPort ?? 15001 };
    }
    const record: AccessLogRecord = {
      startTime: start,
      responseCode: 0,
      responseFlags: [],
      bytesReceived: 0,
      bytesSent: 0,
      durationMs: 0,
      downstreamLocalAddress: addr(dst.address, dst.port),
      downstreamRemoteAddress: addr(downstream.remoteAddress, downstream.remotePort),
    };
    const conn: Conn = { downstream, start, dst, pending: Buffer.alloc(0), record };
    downstream.on('error', () => undefined);
    const listener = selectListener(this.deps.config.listeners, dst.address, dst.port);
    // Envoy counts a connection on the listener that creates it: 15001 only if no hand-off happened.
    this.deps.stats.inc(listenerStat(listener.useOriginalDst ? `0.0.0.0_${listener.port}` : listener.name, 'downstream_cx_total'));
    if (needsHttpInspection(listener)) this.inspectThenRoute(conn, listener);
    else this.route(conn, listener, []);
  }

  /** http_inspector: buffer the first bytes until they decide the ALPN; no timeout, as in Istio. */
  private inspectThenRoute(conn: Conn, listener: Listener): void {
    const onData = (chunk: Buffer) => {
      conn.pending = Buffer.concat([conn.pending, chunk]);
      const verdict = inspectHttp(conn.pending);
      if (verdict === 'need-more') return;
      conn.downstream.off('data', onData);
      conn.downstream.pause();
      this.deps.stats.inc(INSPECTOR_STAT[verdict] ?? 'http_inspector.http_not_found');
      this.route(conn, listener, verdict === 'not-http' ? [] : [verdict]);
    };
    conn.downstream.on('data', onData);
    conn.downstream.once('end', () => this.finish(conn, ['DC']));
    conn.downstream.resume();
  }

  private route(conn: Conn, listener: Listener, alpn: string[]): void {
    const facts: ConnectionFacts = { dstIp: conn.dst.address, dstPort: conn.dst.port, transportProtocol: 'raw_buffer', applicationProtocols: alpn };
    const chain = matchFilterChain(listener, facts);
    if (!chain) {
      conn.record.responseFlags = ['NR'];
      conn.record.connectionTerminationDetails = 'filter_chain_not_found';
      this.close(conn);
      return;
    }
    if (chain.filter.kind === 'tcp_proxy') this.tcpProxy(conn, chain.filter.cluster, chain.filter.statPrefix);
    else this.httpConnectionManager(conn, chain, chain.filter.statPrefix, chain.filter.routeConfigName);
  }

  // ---- tcp_proxy -------------------------------------------------------------------------------

  private tcpProxy(conn: Conn, clusterName: string, statPrefix: string): void {
    this.deps.stats.inc(tcpStat(statPrefix, 'downstream_cx_total'));
    conn.record.upstreamCluster = clusterName;
    void this.connectUpstream(conn, clusterName, conn.dst).then((upstream) => {
      if (upstream) this.relay(conn, upstream, clusterName);
    });
  }

  /** Picks the cluster's host the way its type says, and connects; undefined after a UH/UF close. */
  private async connectUpstream(conn: Conn, clusterName: string, originalDst: Endpoint): Promise<Socket | undefined> {
    const cluster = this.clusters.get(clusterName);
    const stat = (s: string) => clusterStat(cluster?.altStatName.replace(/;$/, '') ?? clusterName, s, this.era);
    const host = cluster ? await this.pickHost(cluster, originalDst) : undefined;
    if (!host) {
      this.deps.stats.inc(stat('upstream_cx_none_healthy'));
      conn.record.responseFlags = ['UH'];
      this.close(conn);
      return undefined;
    }
    this.deps.stats.inc(stat('upstream_cx_total'));
    conn.record.upstreamHost = addr(host.address, host.port);
    return new Promise((resolve) => {
      const upstream = net.connect({ host: host.address, port: host.port, allowHalfOpen: true });
      const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), cluster!.connectTimeoutMs);
      upstream.once('connect', () => {
        clearTimeout(timer);
        conn.record.upstreamLocalAddress = addr(upstream.localAddress, upstream.localPort);
        resolve(upstream);
      });
      upstream.once('error', (err) => {
        clearTimeout(timer);
        if (upstream.connecting || !conn.record.upstreamLocalAddress) {
          this.deps.stats.inc(stat('upstream_cx_connect_fail'));
          conn.record.responseFlags = ['UF'];
          conn.record.upstreamTransportFailureReason = err.message;
          this.close(conn);
          resolve(undefined);
        }
      });
    });
  }

  private async pickHost(cluster: Cluster, originalDst: Endpoint): Promise<Endpoint | undefined> {
    if (cluster.type === 'ORIGINAL_DST') return originalDst;
    const eps = cluster.endpoints;
    if (eps.length === 0) return undefined;
    const n = this.rr.get(cluster.name) ?? 0;
    this.rr.set(cluster.name, n + 1);
    const ep = eps[n % eps.length]!;
    if (cluster.type !== 'STRICT_DNS' || net.isIP(ep.address)) return ep;
    try {
      return { address: (await lookup(ep.address, { family: 4 })).address, port: ep.port };
    } catch {
      return undefined;
    }
  }

  /** Byte relay in both directions with half-close, as tcp_proxy does. */
  private relay(conn: Conn, upstream: Socket, clusterName: string, onFirstResponse?: (b: Buffer) => void): void {
    const { downstream } = conn;
    const cluster = this.clusters.get(clusterName);
    const stat = (s: string) => clusterStat(cluster?.altStatName.replace(/;$/, '') ?? clusterName, s, this.era);
    if (conn.pending.length > 0) {
      upstream.write(conn.pending);
      conn.record.bytesReceived += conn.pending.length;
      conn.pending = Buffer.alloc(0);
    }
    downstream.removeAllListeners('end');
    downstream.on('data', (b: Buffer) => {
      conn.record.bytesReceived += b.length;
      this.deps.stats.inc(stat('upstream_cx_tx_bytes_total'), b.length);
      upstream.write(b);
    });
    let first = true;
    upstream.on('data', (b: Buffer) => {
      if (first && onFirstResponse) onFirstResponse(b);
      first = false;
      conn.record.bytesSent += b.length;
      this.deps.stats.inc(stat('upstream_cx_rx_bytes_total'), b.length);
      downstream.write(b);
    });
    downstream.on('end', () => upstream.end());
    upstream.on('end', () => downstream.end());
    let closed = 0;
    const onClose = () => {
      if (++closed === 2) this.finish(conn);
    };
    downstream.once('close', onClose);
    upstream.once('close', onClose);
    downstream.on('error', () => upstream.destroy());
    upstream.on('error', () => downstream.destroy());
    downstream.resume();
  }

  // ---- http_connection_manager -------------------------------------------------------------------

  private httpConnectionManager(conn: Conn, _chain: FilterChain, statPrefix: string, routeName: string): void {
    const stat = (s: string) => httpStat(statPrefix, s, this.era);
    this.deps.stats.inc(stat('downstream_cx_total'));
    const { downstream } = conn;
    downstream.removeAllListeners('end');
    const onData = (chunk?: Buffer) => {
      if (chunk) conn.pending = Buffer.concat([conn.pending, chunk]);
      const parsed = parseRequestHead(conn.pending);
      if (parsed.kind === 'need-more') return;
      downstream.off('data', onData);
      downstream.pause();
      if (parsed.kind === 'error') {
        this.codecError(conn, stat);
        return;
      }
      const { head } = parsed;
      this.deps.stats.inc(stat('downstream_rq_total'));
      Object.assign(conn.record, {
        method: head.method,
        path: head.path,
        protocol: head.protocol,
        authority: head.headers.get('host'),
        userAgent: head.headers.get('user-agent'),
      });
      const { action, routeName: chosen } = this.selectRoute(routeName, head.headers.get('host') ?? '');
      conn.record.routeName = chosen;
      this.applyRoute(conn, action, stat);
    };
    downstream.on('data', onData);
    downstream.once('end', () => this.finish(conn, ['DC']));
    if (conn.pending.length > 0) onData();
    downstream.resume();
  }

  private codecError(conn: Conn, stat: (s: string) => string): void {
    const bytes = badRequest(this.era, new Date());
    this.deps.stats.inc(stat('downstream_cx_protocol_error'));
    this.deps.stats.inc(stat('downstream_rq_4xx'));
    Object.assign(conn.record, { responseCode: 400, responseFlags: ['DPE'], responseCodeDetails: 'http1.codec_error' });
    conn.record.bytesReceived += conn.pending.length;
    conn.record.bytesSent += Buffer.byteLength(bytes);
    conn.pending = Buffer.alloc(0);
    conn.downstream.end(bytes, () => this.finish(conn));
  }

  /** Virtual host by Host header (port ignored, as IgnorePortInHostMatching does), else the catch-all. */
  private selectRoute(routeName: string, host: string): { action: RouteAction; routeName: string } {
    const config: RouteConfig | undefined = this.deps.config.routes.find((r) => r.name === routeName);
    const bare = host.toLowerCase().replace(/:\d+$/, '');
    const vhosts = config?.virtualHosts ?? [];
    const vh =
      vhosts.find((v) => v.domains.some((d) => d !== '*' && (d === host.toLowerCase() || d === bare))) ?? vhosts.find((v) => v.domains.includes('*'));
    if (!vh) return { action: { kind: 'direct_response', status: 404 }, routeName: '-' };
    return { action: vh.action, routeName: vh.routeName };
  }

  private applyRoute(conn: Conn, action: RouteAction, stat: (s: string) => string): void {
    if (action.kind === 'direct_response') {
      const bytes = blockAll502(new Date());
      this.deps.stats.inc(stat('rq_direct_response'));
      this.deps.stats.inc(stat(`downstream_rq_${Math.floor(action.status / 100)}xx`));
      Object.assign(conn.record, { responseCode: action.status, responseCodeDetails: 'direct_response' });
      conn.record.bytesReceived += conn.pending.length;
      conn.record.bytesSent += Buffer.byteLength(bytes);
      conn.pending = Buffer.alloc(0);
      conn.downstream.end(bytes, () => this.finish(conn));
      return;
    }
    const clusterName = action.kind === 'cluster' ? action.cluster : 'PassthroughCluster';
    conn.record.upstreamCluster = clusterName;
    void this.connectUpstream(conn, clusterName, conn.dst).then((upstream) => {
      if (!upstream) return;
      this.deps.stats.inc(clusterStat(clusterName, 'upstream_rq_total', this.era));
      this.relay(conn, upstream, clusterName, (first) => {
        const status = responseStatus(first);
        if (status === undefined) return;
        conn.record.responseCode = status;
        conn.record.responseCodeDetails = 'via_upstream';
        this.deps.stats.inc(clusterStat(clusterName, `upstream_rq_${status}`, this.era));
        this.deps.stats.inc(stat(`downstream_rq_${Math.floor(status / 100)}xx`));
      });
    });
  }

  // ---- endings -----------------------------------------------------------------------------------

  /** Closes the client side; unread client bytes make the kernel send RST, as with Envoy. */
  private close(conn: Conn): void {
    const unread = conn.pending.length > 0 || conn.downstream.readableLength > 0;
    if (unread) conn.downstream.resetAndDestroy();
    else conn.downstream.destroy();
    this.finish(conn);
  }

  private finish(conn: Conn, flags: string[] = []): void {
    if ((conn as { logged?: boolean }).logged) return;
    (conn as { logged?: boolean }).logged = true;
    if (conn.record.responseFlags.length === 0) conn.record.responseFlags = flags;
    conn.record.durationMs = Date.now() - conn.start.getTime();
    this.deps.log(formatAccessLog(conn.record));
    if (!conn.downstream.destroyed) conn.downstream.destroy();
  }
}
