/**
 * The path one probe connection takes according to the model: the nat OUTPUT rules it meets, the
 * listener, filter chain, route and cluster the sidecar picks, and where it ends. It follows the same
 * pure functions the sidecar process runs (selectListener, matchFilterChain, inspectHttp), so the
 * report's drawing and the lab's behaviour come from one model. Pure: no I/O.
 */
import { BLACKHOLE, PASSTHROUGH } from './clusters.ts';
import { matchFilterChain, needsHttpInspection, selectListener, type ConnectionFacts } from './filterChain.ts';
import { evaluateOutput, type Evaluation, type Packet } from './iptablesEval.ts';
import { isLoopback, parseCidr } from './net.ts';
import type { HopKind, PathHop, PathTrace } from './pathTrace.ts';
import { selectVirtualHost } from './routes.ts';
import type { FilterChain, FilterChainMatch, Listener, ProxyConfig, VirtualHost } from './types.ts';
import { codecVerdict, inspectHttp, type InspectorVerdict } from '../sidecar/inspector.ts';
import { describeChainMatch } from '../views/proxyConfig.ts';

export interface TraceProbe {
  /** What the client dials: an IP or a name (resolvedIp is what it resolved to). */
  host: string;
  port: number;
  /** Set for curl probes: https means a TLS ClientHello, http an HTTP/1.1 request. */
  scheme?: 'http' | 'https';
  /** The Host header of an HTTP request (curl sends the URL host). */
  hostHeader?: string;
  /** Whether the client speaks first (Redis, HTTP) or waits for a server greeting (MySQL). */
  sendsFirst: boolean;
  /** The first bytes a raw TCP client sends, for http_inspector and the HTTP codec. */
  firstBytes?: string;
}

export interface TraceInput {
  config: ProxyConfig;
  /** The pod's istio-init restore text; undefined when the pod has no sidecar. */
  restore: string | undefined;
  probe: TraceProbe;
  resolvedIp: string;
}

/** The probe agent runs as this uid/gid so that istio-iptables captures it (the proxy is 1337). */
export const PROBE_UID = 1000;

/** Accumulates hops and notes; end() freezes them into a PathTrace. */
class Trace {
  readonly hops: PathHop[] = [];
  readonly notes: string[] = [];
  captured = false;

  hop(kind: HopKind, label: string, detail?: string): void {
    this.hops.push(detail === undefined ? { kind, label } : { kind, label, detail });
  }

  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  end(outcome: PathTrace['outcome']): PathTrace {
    return { hops: this.hops, captured: this.captured, outcome, notes: this.notes };
  }
}

interface Ctx {
  input: TraceInput;
  t: Trace;
  dst: string;
}

export function tracePath(input: TraceInput): PathTrace {
  const t = new Trace();
  const { config, probe, resolvedIp } = input;
  const named = probe.host !== resolvedIp ? `${probe.host} resolves to ${resolvedIp}` : undefined;
  t.hop('client', `${config.podIp} → ${probe.host}:${probe.port}`, named);
  const ctx: Ctx = { input, t, dst: `${resolvedIp}:${probe.port}` };
  if (input.restore === undefined) {
    t.note('the pod has no sidecar: no istio-init rules, the connection goes straight out');
    return direct(ctx);
  }
  const packet = packetFor(input);
  const evaluation = evaluateOutput(input.restore, packet);
  t.hop('iptables', decidingRule(evaluation), iptablesDetail(evaluation, packet));
  evaluation.notes.forEach((n) => t.note(`iptables: ${n}`));
  if (evaluation.verdict !== 'redirect') return direct(ctx);
  t.captured = true;
  const outboundPort = config.listeners.find((l) => l.useOriginalDst)?.port ?? 15001;
  return evaluation.toPort === outboundPort ? outbound(ctx, outboundPort) : inboundHairpin(ctx, evaluation.toPort ?? 0);
}

function direct(ctx: Ctx): PathTrace {
  ctx.t.hop('destination', ctx.dst, 'direct: the kernel routes the connection without the sidecar');
  return ctx.t.end('direct');
}

// ---------------------------------------------------------------------------------------------
// iptables

/**
 * Local addresses leave through lo: 127/8 and, via the local routing table, the pod's own IP (which
 * is what istio-iptables' hairpin rule `-o lo ! -d 127.0.0.1/32` is about).
 */
function packetFor({ config, probe, resolvedIp }: TraceInput): Packet {
  const local = isLoopback(resolvedIp) || resolvedIp === config.podIp;
  const src = isLoopback(resolvedIp) ? '127.0.0.1' : config.podIp;
  return { dst: resolvedIp, dport: probe.port, proto: 'tcp', uid: PROBE_UID, gid: PROBE_UID, outIface: local ? 'lo' : 'eth0', src };
}

/** The rule that decided, short: "ISTIO_REDIRECT → 15001", "ISTIO_OUTPUT -d 10.0.0.0/24 -j RETURN". */
function decidingRule(e: Evaluation): string {
  const last = e.matched.at(-1);
  if (e.verdict === 'redirect') return `${last?.chain ?? '?'} → ${e.toPort}`;
  if (!last) return 'OUTPUT: no rule matched → policy ACCEPT';
  const jumpedInto = /-j (\S+)$/.exec(last.rule)?.[1];
  const fellOff = jumpedInto !== undefined && !['RETURN', 'ACCEPT'].includes(jumpedInto);
  return fellOff ? `no ${jumpedInto} rule matched → OUTPUT policy ACCEPT` : last.rule.replace(/^-A /, '');
}

function iptablesDetail(e: Evaluation, p: Packet): string {
  const path = e.matched.map((m) => `${m.chain}: ${m.rule}`).join(' → ');
  const packet = `${p.proto} ${p.src ?? '?'} → ${p.dst}:${p.dport}, uid ${p.uid} gid ${p.gid}, -o ${p.outIface}`;
  const outcome = e.verdict === 'redirect' ? `redirected to ${e.toPort}` : 'not redirected';
  return `nat OUTPUT for ${packet}: ${path || '(no rule matched)'}; ${outcome}`;
}

/** 15006: the sidecar's inbound side, summarised the way the lab's sidecar runs it (proxy.ts handleInbound). */
function inboundHairpin(ctx: Ctx, port: number): PathTrace {
  const { config, probe } = ctx.input;
  ctx.t.hop('sidecar', `${port} virtualInbound`, 'traffic for a local address other than 127.0.0.1 goes to the inbound side');
  const cluster = config.inbound.find((p) => p.port === probe.port)?.cluster ?? 'InboundPassthroughClusterIpv4';
  ctx.t.hop('cluster', cluster);
  const app = config.era === 'modern' ? ctx.input.resolvedIp : '127.0.0.1';
  ctx.t.hop('destination', `${app}:${probe.port}`, 'the pod\'s own application');
  ctx.t.note('the inbound (15006) path is summarised: virtualInbound\'s filter chains are not modelled');
  return ctx.t.end('forwarded');
}

// ---------------------------------------------------------------------------------------------
// Listener and filter chain

function outbound(ctx: Ctx, port: number): PathTrace {
  const { config, probe, resolvedIp } = ctx.input;
  ctx.t.hop('sidecar', `${port} virtualOutbound`, `the sidecar reads the original destination ${ctx.dst} (SO_ORIGINAL_DST) and hands the connection on`);
  const listener = selectListener(config.listeners, resolvedIp, probe.port);
  ctx.t.hop('listener', listener.name, listenerLookup(listener, resolvedIp, probe.port));
  const learned = listenerFacts(ctx, listener);
  if (!learned) return ctx.t.end('waits');
  const facts: ConnectionFacts = { dstIp: resolvedIp, dstPort: probe.port, ...learned };
  const chain = matchFilterChain(listener, facts);
  if (!chain) {
    ctx.t.hop('filter-chain', 'no filter chain', `${describeFacts(facts)}; Envoy closes the connection (NR, filter_chain_not_found)`);
    return ctx.t.end('closed');
  }
  ctx.t.hop('filter-chain', chainLabel(chain), chainDetail(chain, listener, facts));
  if (chain.filter.kind === 'tcp_proxy') return toCluster(ctx, chain.filter.cluster, 'tcp');
  return httpManager(ctx, chain.filter.routeConfigName);
}

function listenerLookup(l: Listener, ip: string, port: number): string {
  if (l.useOriginalDst) return `lookup: none (no ${ip}_${port} or 0.0.0.0_${port} listener), so virtualOutbound's own chains decide`;
  if (l.address === ip) return `lookup: exact IP:port (${ip}:${port})`;
  return `lookup: 0.0.0.0:${port} (no ${ip}_${port} listener)`;
}

type Learned = Omit<ConnectionFacts, 'dstIp' | 'dstPort'>;

/**
 * What the listener filters learn, as proxy.ts's inspect() does; undefined when they wait for bytes
 * that never come (Istio's protocol detection timeout is 0: they wait forever).
 */
function listenerFacts(ctx: Ctx, l: Listener): Learned | undefined {
  const { probe } = ctx.input;
  const raw: Learned = { transportProtocol: 'raw_buffer', applicationProtocols: [] };
  if (l.listenerFilters.length === 0) return raw;
  if (!probe.sendsFirst) {
    const filters = l.listenerFilters.join(' and ');
    ctx.t.note(`${filters} on ${l.name} ${l.listenerFilters.length > 1 ? 'wait' : 'waits'} for the client's first bytes, and this client waits for the server to speak first`);
    return undefined;
  }
  if (probe.scheme === 'https' && l.listenerFilters.includes('tls_inspector')) {
    ctx.t.note(`the TLS server name (SNI) is the URL host ${probe.host}, as curl sends it; the ClientHello's ALPN list is not modelled`);
    return { transportProtocol: 'tls', serverName: probe.host, applicationProtocols: [] };
  }
  if (!needsHttpInspection(l)) return raw;
  const verdict = clientProtocol(ctx);
  if (verdict === 'need-more') {
    ctx.t.note(`http_inspector on ${l.name} needs more bytes than the client sends before it waits for an answer`);
    return undefined;
  }
  const alpn = verdict === 'http/1.1' || verdict === 'http/1.0' || verdict === 'h2c' ? [verdict] : [];
  return { ...raw, applicationProtocols: alpn };
}

/** What the client's first bytes are, for http_inspector, or (`codec`) for the HCM's HTTP codec. */
function clientProtocol(ctx: Ctx, codec = false): InspectorVerdict | 'tls' {
  const { probe } = ctx.input;
  if (probe.scheme === 'https') return 'tls';
  if (probe.scheme === 'http') {
    ctx.t.note('the client sends an HTTP/1.1 request (curl\'s default for http:// URLs)');
    return 'http/1.1';
  }
  if (probe.firstBytes === undefined || probe.firstBytes === '') {
    ctx.t.note('the client\'s first bytes are not known; assumed not to be HTTP');
    return 'not-http';
  }
  const bytes = Buffer.from(probe.firstBytes, 'latin1');
  return codec ? codecVerdict(bytes) : inspectHttp(bytes);
}

/** The chain's name, else istioctl's MATCH column text (ALL, SNI: .., App: HTTP, Addr: ..). */
function chainLabel(chain: FilterChain): string {
  return chain.name ?? describeChainMatch(dumpMatch(chain.match));
}

/** The model's match in config_dump's snake_case shape, which describeChainMatch reads. */
function dumpMatch(m: FilterChainMatch): Record<string, unknown> {
  return {
    ...(m.serverNames ? { server_names: m.serverNames } : {}),
    ...(m.applicationProtocols ? { application_protocols: m.applicationProtocols } : {}),
    ...(m.transportProtocol ? { transport_protocol: m.transportProtocol } : {}),
    ...(m.destinationPort !== undefined ? { destination_port: m.destinationPort } : {}),
    ...(m.prefixRanges
      ? { prefix_ranges: m.prefixRanges.map((r) => ({ address_prefix: parseCidr(r).ip, prefix_len: parseCidr(r).prefix })) }
      : {}),
  };
}

function describeFacts(f: ConnectionFacts): string {
  const sni = f.serverName ? `, SNI ${f.serverName}` : '';
  const alpn = f.applicationProtocols.length > 0 ? `, ALPN ${f.applicationProtocols.join(',')}` : '';
  return `connection: ${f.transportProtocol}${sni}${alpn}`;
}

function chainDetail(chain: FilterChain, l: Listener, facts: ConnectionFacts): string {
  const which = chain === l.defaultFilterChain ? 'default filter chain (no other chain matched)' : `match ${describeChainMatch(dumpMatch(chain.match))}`;
  const filter = chain.filter.kind === 'tcp_proxy' ? `tcp_proxy → ${chain.filter.cluster}` : `http_connection_manager, route ${chain.filter.routeConfigName}`;
  return `${which}; ${filter}; ${describeFacts(facts)}`;
}

// ---------------------------------------------------------------------------------------------
// HTTP connection manager and route

function httpManager(ctx: Ctx, routeName: string): PathTrace {
  const { config, probe } = ctx.input;
  const speaks = ctx.input.probe.sendsFirst ? clientProtocol(ctx, true) : 'silent';
  if (speaks === 'silent' || speaks === 'need-more') {
    ctx.t.note('the HTTP connection manager waits for a complete request line, and the client waits for the server');
    return ctx.t.end('waits');
  }
  if (speaks !== 'http/1.1' && speaks !== 'http/1.0') {
    const what = speaks === 'tls' ? 'a TLS ClientHello' : speaks === 'h2c' ? 'an HTTP/2 preface (the lab\'s codec speaks HTTP/1.1 only)' : 'non-HTTP bytes';
    ctx.t.note(`${what} reach the HTTP/1 codec, which answers 400 Bad Request and closes (${config.era} era reply bytes)`);
    return ctx.t.end('local-reply');
  }
  const host = probe.hostHeader ?? probe.host;
  const route = config.routes.find((r) => r.name === routeName);
  const vh = selectVirtualHost(route, host);
  if (!vh) {
    ctx.t.hop('route', `${routeName}: no virtual host`, `Host ${host}: Envoy answers 404 (NR, route_not_found)`);
    return ctx.t.end('local-reply');
  }
  const action = vh.action;
  const reply = action.kind === 'direct_response' ? ` → ${action.status}` : '';
  ctx.t.hop('route', `${routeName}: ${vh.name}${reply}`, routeDetail(host, vh));
  if (action.kind === 'direct_response') return ctx.t.end('local-reply');
  return toCluster(ctx, action.kind === 'cluster' ? action.cluster : PASSTHROUGH, 'http');
}

function routeDetail(host: string, vh: VirtualHost): string {
  const by = vh.domains.includes('*') && vh.domains.length === 1 ? 'the catch-all "*"' : 'its domains';
  const action = vh.action;
  const what =
    action.kind === 'direct_response'
      ? `direct_response ${action.status} with an empty body`
      : action.kind === 'passthrough'
        ? 'passthrough to the original destination'
        : `cluster ${action.cluster}${action.timeoutMs > 0 ? `, timeout ${action.timeoutMs} ms` : ''}`;
  const vs = vh.virtualService ? ` (VirtualService ${vh.virtualService})` : '';
  return `Host ${host} picks virtual host ${vh.name} by ${by}: ${what}${vs}`;
}

// ---------------------------------------------------------------------------------------------
// Cluster and destination

function toCluster(ctx: Ctx, name: string, via: 'tcp' | 'http'): PathTrace {
  const { config, probe } = ctx.input;
  const cluster = config.clusters.find((c) => c.name === name);
  if (!cluster) {
    ctx.t.hop('cluster', name, 'not in the proxy config');
    return noUpstream(ctx, via, `cluster ${name} does not exist`, 'NC');
  }
  ctx.t.hop('cluster', name, `${cluster.type}${cluster.service ? `, ${cluster.service}` : ''}`);
  if (cluster.type === 'ORIGINAL_DST') {
    ctx.t.hop('destination', ctx.dst, 'the original destination');
    return ctx.t.end('forwarded');
  }
  if (cluster.endpoints.length === 0) {
    const why = name === BLACKHOLE ? 'BlackHoleCluster has no endpoints' : `${name} has no endpoints`;
    return noUpstream(ctx, via, why, 'UH');
  }
  const endpoints = cluster.endpoints.map((e) => `${e.address}:${e.port}`).join(', ');
  if (cluster.type === 'STRICT_DNS') {
    ctx.t.note(`${name} is STRICT_DNS: the sidecar resolves ${cluster.endpoints.map((e) => e.address).join(', ')} itself, whatever ${probe.host} resolved to for the client`);
    ctx.t.hop('destination', endpoints, 'the DNS name(s) the sidecar resolves');
  } else {
    ctx.t.hop('destination', endpoints, `${cluster.type} endpoints${cluster.endpoints.length > 1 ? ', round robin' : ''}`);
  }
  return ctx.t.end('forwarded');
}

/** tcp_proxy closes without a byte; the HCM answers 503 with its response flag. */
function noUpstream(ctx: Ctx, via: 'tcp' | 'http', why: string, flag: 'UH' | 'NC'): PathTrace {
  if (via === 'tcp') {
    ctx.t.note(`${why}: the sidecar closes the connection without sending a byte (${flag})`);
    return ctx.t.end('closed');
  }
  ctx.t.note(`${why}: the HTTP connection manager answers 503 (${flag})`);
  return ctx.t.end('local-reply');
}
