/**
 * The outbound proxy: what istio-proxy does with a connection that iptables redirected to 15001.
 * Listener hand-off and filter-chain choice are the pure model's (harness/model/filterChain.ts);
 * this file does the I/O: inspecting first bytes, tcp_proxy to a cluster, and the small HTTP
 * connection manager the scenarios need.
 */
import net, { type Socket } from 'node:net';
import { lookup } from 'node:dns/promises';
import { matchFilterChain, needsHttpInspection, selectListener, type ConnectionFacts } from '../model/filterChain.ts';
import { clusterStat, listenerStat, tcpStat, type StatsStore } from '../core/stats.ts';
import { formatAccessLog, type AccessLogRecord } from '../model/accessLog.ts';
import type { Cluster, Endpoint, Listener, ProxyConfig } from '../model/types.ts';
import { inspectHttp } from '../model/httpInspector.ts';
import { parseClientHello } from './clientHello.ts';
import { originalDst } from './originalDst.ts';
import { HttpConnectionManager } from './httpManager.ts';

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
  /** Set once the connection's access-log line is written (or handed to the HCM, which logs per request). */
  logged?: boolean;
  /** Closed with a FIN and drained until the client closes (see close()). */
  draining?: boolean;
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

  private readonly http: HttpConnectionManager;

  constructor(private readonly deps: ProxyDeps) {
    this.clusters = new Map(deps.config.clusters.map((c) => [c.name, c]));
    this.http = new HttpConnectionManager({
      era: deps.config.era,
      stats: deps.stats,
      log: deps.log,
      routes: deps.config.routes,
      pickHost: (cluster, dst) => this.pickHost(cluster, dst),
    });
  }

  get era() {
    return this.deps.config.era;
  }

  /** A connection and what the access log will say about it; the destination comes from SO_ORIGINAL_DST. */
  private newConn(downstream: Socket): Conn {
    let dst: Endpoint;
    try {
      dst = originalDst(downstream);
    } catch {
      dst = { address: downstream.localAddress ?? '0.0.0.0', port: downstream.localPort ?? 15001 };
    }
    downstream.on('error', () => undefined);
    const start = new Date();
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
    return { downstream, start, dst, pending: Buffer.alloc(0), record };
  }

  handle(downstream: Socket): void {
    const conn = this.newConn(downstream);
    const listener = selectListener(this.deps.config.listeners, conn.dst.address, conn.dst.port);
    // Envoy counts a connection on the listener that creates it: 15001 only if no hand-off happened.
    const stat = (name: string) => listenerStat(listener.useOriginalDst ? `0.0.0.0_${listener.port}` : listener.name, name);
    if (listener.listenerFilters.length > 0) this.inspectThenRoute(conn, listener, stat);
    else {
      this.deps.stats.inc(stat('downstream_cx_total'));
      this.route(conn, listener, { transportProtocol: 'raw_buffer', applicationProtocols: [] });
    }
  }

  /**
   * Listener filters: tls_inspector (SNI, ALPN from a ClientHello) and http_inspector (HTTP/1.1 or
   * h2c from the first line). They peek at the client's first bytes; with no bytes they wait forever,
   * as Istio's protocolDetectionTimeout of 0 does. As in Envoy (observed on 1.40.0), a socket still
   * in its listener filters is not a connection yet: downstream_cx_total counts it only once the
   * filters are done, and a client that gives up first counts as downstream_listener_filter_remote_close,
   * with no access-log line.
   */
  private inspectThenRoute(conn: Conn, listener: Listener, stat: (name: string) => string): void {
    const wantsTls = listener.listenerFilters.includes('tls_inspector');
    const wantsHttp = needsHttpInspection(listener);
    const onData = (chunk: Buffer) => {
      conn.pending = Buffer.concat([conn.pending, chunk]);
      const facts = this.inspect(conn.pending, wantsTls, wantsHttp);
      if (!facts) return;
      conn.downstream.off('data', onData);
      conn.downstream.off('end', onEnd);
      conn.downstream.pause();
      this.deps.stats.inc(stat('downstream_cx_total'));
      this.route(conn, listener, facts);
    };
    const onEnd = () => {
      this.deps.stats.inc(stat('downstream_listener_filter_remote_close'));
      conn.logged = true;
      conn.downstream.destroy();
    };
    conn.downstream.on('data', onData);
    conn.downstream.once('end', onEnd);
    conn.downstream.resume();
  }

  /** What the listener filters conclude from the bytes so far, or undefined while they need more. */
  private inspect(data: Buffer, wantsTls: boolean, wantsHttp: boolean): Omit<ConnectionFacts, 'dstIp' | 'dstPort'> | undefined {
    if (wantsTls) {
      const hello = parseClientHello(data);
      if (hello.kind === 'need-more') return undefined;
      if (hello.kind === 'tls') return { transportProtocol: 'tls', serverName: hello.serverName, applicationProtocols: hello.alpn };
    }
    if (!wantsHttp) return { transportProtocol: 'raw_buffer', applicationProtocols: [] };
    const verdict = inspectHttp(data);
    if (verdict === 'need-more') return undefined;
    this.deps.stats.inc(INSPECTOR_STAT[verdict] ?? 'http_inspector.http_not_found');
    return { transportProtocol: 'raw_buffer', applicationProtocols: verdict === 'not-http' ? [] : [verdict] };
  }

  private route(conn: Conn, listener: Listener, learned: Omit<ConnectionFacts, 'dstIp' | 'dstPort'>): void {
    const facts: ConnectionFacts = { dstIp: conn.dst.address, dstPort: conn.dst.port, ...learned };
    if (facts.serverName) conn.record.requestedServerName = facts.serverName;
    const chain = matchFilterChain(listener, facts);
    if (!chain) {
      conn.record.responseFlags = ['NR'];
      conn.record.connectionTerminationDetails = 'filter_chain_not_found';
      this.close(conn);
      return;
    }
    if (chain.filter.kind === 'tcp_proxy') {
      this.tcpProxy(conn, chain.filter.cluster, chain.filter.statPrefix);
      return;
    }
    // The HCM logs per request; this connection needs no line of its own.
    conn.logged = true;
    this.http.serve({
      socket: conn.downstream,
      pending: conn.pending,
      originalDst: conn.dst,
      statPrefix: chain.filter.statPrefix,
      routeConfigName: chain.filter.routeConfigName,
    });
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
  private async connectUpstream(
    conn: Conn,
    clusterName: string,
    originalDst: Endpoint,
    localAddress?: string,
  ): Promise<Socket | undefined> {
    const cluster = this.clusters.get(clusterName);
    const stat = (s: string) => clusterStat(clusterName, s, this.era);
    const host = await this.pickHost(clusterName, originalDst);
    if (!host) {
      this.deps.stats.inc(stat('upstream_cx_none_healthy'));
      conn.record.responseFlags = ['UH'];
      this.close(conn);
      return undefined;
    }
    this.deps.stats.inc(stat('upstream_cx_total'));
    // Envoy's tcp_proxy takes its upstream connection through a connection pool, which counts it
    // as a request too (observed on Envoy 1.40.0).
    this.deps.stats.inc(stat('upstream_rq_total'));
    conn.record.upstreamHost = addr(host.address, host.port);
    return new Promise((resolve) => {
      const upstream = net.connect({ host: host.address, port: host.port, allowHalfOpen: true, ...(localAddress ? { localAddress } : {}) });
      const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), cluster?.connectTimeoutMs ?? 10_000);
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

  /** A host of the cluster: the original destination (ORIGINAL_DST), round robin over endpoints, DNS for STRICT_DNS. */
  async pickHost(clusterName: string, originalDst: Endpoint): Promise<Endpoint | undefined> {
    const cluster = this.clusters.get(clusterName);
    if (!cluster) return undefined;
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
  private relay(conn: Conn, upstream: Socket, clusterName: string): void {
    const { downstream } = conn;
    const stat = (s: string) => clusterStat(clusterName, s, this.era);
    if (conn.pending.length > 0) {
      upstream.write(conn.pending);
      this.deps.stats.inc(stat('upstream_cx_tx_bytes_total'), conn.pending.length);
      conn.record.bytesReceived += conn.pending.length;
      conn.pending = Buffer.alloc(0);
    }
    downstream.removeAllListeners('end');
    downstream.on('data', (b: Buffer) => {
      conn.record.bytesReceived += b.length;
      this.deps.stats.inc(stat('upstream_cx_tx_bytes_total'), b.length);
      upstream.write(b);
    });
    upstream.on('data', (b: Buffer) => {
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

  // ---- inbound (15006) ---------------------------------------------------------------------------

  /**
   * Inbound capture: a connection for this pod's own IP:port, redirected to 15006, goes to the local
   * app. Since Istio 1.10 the sidecar dials the pod IP from 127.0.0.6 (which istio-iptables RETURNs);
   * the 1.4-1.6 sidecar dialled 127.0.0.1.
   */
  handleInbound(downstream: Socket): void {
    const conn = this.newConn(downstream);
    this.deps.stats.inc(listenerStat('0.0.0.0_15006', 'downstream_cx_total'));
    const inbound = this.deps.config.inbound.find((p) => p.port === conn.dst.port);
    const cluster = inbound?.cluster ?? 'InboundPassthroughClusterIpv4';
    this.deps.stats.inc(tcpStat(cluster, 'downstream_cx_total'));
    this.deps.stats.inc(clusterStat(cluster, 'upstream_cx_total', this.era));
    conn.record.upstreamCluster = cluster;
    const modern = this.era === 'modern';
    const target = { address: modern ? conn.dst.address : '127.0.0.1', port: conn.dst.port };
    conn.record.upstreamHost = addr(target.address, target.port);
    const upstream = net.connect({
      host: target.address,
      port: target.port,
      allowHalfOpen: true,
      ...(modern ? { localAddress: '127.0.0.6' } : {}),
    });
    upstream.once('connect', () => {
      conn.record.upstreamLocalAddress = addr(upstream.localAddress, upstream.localPort);
      this.relay(conn, upstream, cluster);
    });
    upstream.once('error', (err) => {
      if (conn.record.upstreamLocalAddress) return;
      this.deps.stats.inc(clusterStat(cluster, 'upstream_cx_connect_fail', this.era));
      conn.record.responseFlags = ['UF'];
      conn.record.upstreamTransportFailureReason = err.message;
      this.close(conn);
    });
  }

  // ---- endings -----------------------------------------------------------------------------------

  /** Closes the client side; unread client bytes make the kernel send RST, as with Envoy. */
  /**
   * Closing a connection the sidecar answers itself (no upstream): bytes it already read make the
   * close a RST; otherwise the client gets a FIN first, as from real Envoy (observed on 1.40.0:
   * virtualOutbound's BlackHoleCluster ends `nc` with a FIN even though nc has sent "keys *").
   */
  private close(conn: Conn): void {
    const unread = conn.pending.length > 0 || conn.downstream.readableLength > 0;
    if (unread) conn.downstream.resetAndDestroy();
    else {
      // FIN now; whatever the client still sends is drained, so no RST overtakes the FIN.
      const socket = conn.downstream;
      conn.draining = true;
      socket.end();
      socket.resume();
      const timer = setTimeout(() => socket.destroy(), 1000);
      socket.once('close', () => clearTimeout(timer));
      socket.once('end', () => socket.destroy());
    }
    this.finish(conn);
  }

  private finish(conn: Conn, flags: string[] = []): void {
    if (conn.logged) return;
    conn.logged = true;
    if (conn.record.responseFlags.length === 0) conn.record.responseFlags = flags;
    conn.record.durationMs = Date.now() - conn.start.getTime();
    this.deps.log(formatAccessLog(conn.record));
    if (!conn.draining && !conn.downstream.destroyed) conn.downstream.destroy();
  }
}
