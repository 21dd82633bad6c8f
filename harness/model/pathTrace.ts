/**
 * The path one probe connection takes according to the model: the nat OUTPUT rule that decides,
 * then, like Istio's own simulation (pilot/pkg/simulation/traffic.go, a Call in, a Result of named
 * matches out), the listener, filter chain, route configuration, virtual host and cluster the
 * sidecar picks, and where the connection ends. It follows the same pure functions the lab's
 * sidecar model runs (selectListener, matchFilterChain, inspectHttp), so the report's drawing
 * (pathDrawing.ts) and the lab's behaviour come from one model. Pure: no I/O.
 */
import { BLACKHOLE, PASSTHROUGH } from './clusters.ts';
import { matchFilterChain, needsHttpInspection, selectListener, type ConnectionFacts } from './filterChain.ts';
import { evaluateOutput, type Evaluation, type Packet } from './iptablesEval.ts';
import { isLoopback, parseCidr } from '../core/net.ts';
import { selectVirtualHost } from './routes.ts';
import type { FilterChain, FilterChainMatch, Listener, ProxyConfig, VirtualHost } from './types.ts';
import { codecVerdict, inspectHttp, type InspectorVerdict } from './httpInspector.ts';
import { describeChainMatch } from './chainMatch.ts';
import { APP_UID } from '../core/uids.ts';
import type { TraceProbe } from '../core/traceProbe.ts';
import { buildProxyConfig } from './proxyConfig.ts';
import { injectionConfig, renderRestore } from './iptables.ts';
import type { Scenario, Workload } from '../scenario/schema.ts';
import type { IstioVersion } from '../scenario/istioVersion.ts';

export { MATCH_FIELDS, type PathMatch } from './pathMatch.ts';
import type { PathMatch } from './pathMatch.ts';

/** How the connection ends according to the model: forwarded, answered locally, closed, hangs, not captured. */
export type TraceOutcome = 'forwarded' | 'local-reply' | 'closed' | 'waits' | 'direct';

export interface PathTrace {
  /** The pod's address and what the client dialled ("10.0.0.6:7000"); `resolved` explains a name. */
  client: { podIp: string; dialled: string; resolved?: string };
  /** The nat OUTPUT decision; absent when the pod has no sidecar (no istio-init rules). */
  iptables?: { rule: string; detail: string };
  /** The sidecar port iptables redirected to (15001 outbound, 15006 inbound) and what it does with it. */
  sidecar?: { port: number; detail: string };
  match: PathMatch;
  /** Why each match was made, for the table under the drawing. */
  why: { listener?: string; filterChain?: string; route?: string; cluster?: string };
  /** An unnamed chain's match in istioctl's words ("ALL", "App: HTTP", "SNI: www.baidu.com"). */
  filterChainMatch?: string;
  /** The status of a route that answers by itself (direct_response, block_all's 502). */
  directResponse?: number;
  /** Where the connection left the pod for, when it did. */
  destination?: { address: string; detail: string };
  /** Whether iptables sent the connection to the sidecar. */
  captured: boolean;
  outcome: TraceOutcome;
  /** Things the model had to assume (e.g. the SNI of an https URL, unknown for raw TCP). */
  notes: string[];
}

export type { TraceProbe };

export interface TraceInput {
  config: ProxyConfig;
  /** The pod's istio-init restore text; undefined when the pod has no sidecar. */
  restore: string | undefined;
  probe: TraceProbe;
  resolvedIp: string;
}

/** Collects the trace as it is made; end() freezes it. */
class Trace {
  readonly notes: string[] = [];
  readonly match: PathMatch = {};
  readonly why: PathTrace['why'] = {};
  iptables?: PathTrace['iptables'];
  sidecar?: PathTrace['sidecar'];
  filterChainMatch?: string;
  directResponse?: number;
  destination?: PathTrace['destination'];
  captured = false;

  constructor(readonly client: PathTrace['client']) {}

  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  end(outcome: TraceOutcome): PathTrace {
    const optional = {
      ...(this.iptables ? { iptables: this.iptables } : {}),
      ...(this.sidecar ? { sidecar: this.sidecar } : {}),
      ...(this.filterChainMatch !== undefined ? { filterChainMatch: this.filterChainMatch } : {}),
      ...(this.directResponse !== undefined ? { directResponse: this.directResponse } : {}),
      ...(this.destination ? { destination: this.destination } : {}),
    };
    return { client: this.client, ...optional, match: this.match, why: this.why, captured: this.captured, outcome, notes: this.notes };
  }
}

interface Ctx {
  input: TraceInput;
  t: Trace;
  dst: string;
}

/** The trace for a probe from `workload`: its istio-init rules and proxy config, as the model builds them. */
export function tracePathFrom(
  scenario: Scenario,
  istio: IstioVersion,
  workload: Workload,
  probe: TraceProbe,
  resolvedIp: string,
): PathTrace {
  const config = buildProxyConfig(scenario, istio, workload);
  const restore = workload.sidecar ? renderRestore(injectionConfig(workload.annotations, istio.era, istio.minor)) : undefined;
  return tracePath({ config, restore, probe, resolvedIp });
}

export function tracePath(input: TraceInput): PathTrace {
  const { config, probe, resolvedIp } = input;
  const named = probe.host !== resolvedIp ? { resolved: `${probe.host} resolves to ${resolvedIp}` } : {};
  const t = new Trace({ podIp: config.podIp, dialled: `${probe.host}:${probe.port}`, ...named });
  const ctx: Ctx = { input, t, dst: `${resolvedIp}:${probe.port}` };
  if (input.restore === undefined) {
    t.note('the pod has no sidecar: no istio-init rules, the connection goes straight out');
    return direct(ctx);
  }
  const packet = packetFor(input);
  const evaluation = evaluateOutput(input.restore, packet);
  t.iptables = { rule: decidingRule(evaluation), detail: iptablesDetail(evaluation, packet) };
  evaluation.notes.forEach((n) => t.note(`iptables: ${n}`));
  if (evaluation.verdict !== 'redirect') return direct(ctx);
  t.captured = true;
  const outboundPort = config.listeners.find((l) => l.useOriginalDst)?.port ?? 15001;
  return evaluation.toPort === outboundPort ? outbound(ctx, outboundPort) : inboundHairpin(ctx, evaluation.toPort ?? 0);
}

function direct(ctx: Ctx): PathTrace {
  ctx.t.destination = { address: ctx.dst, detail: 'direct: the kernel routes the connection without the sidecar' };
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
  return { dst: resolvedIp, dport: probe.port, proto: 'tcp', uid: APP_UID, gid: APP_UID, outIface: local ? 'lo' : 'eth0', src };
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

/** 15006: the sidecar's inbound side, summarised the way the lab's sidecar runs it (harness/sidecar/proxy.ts handleInbound). */
function inboundHairpin(ctx: Ctx, port: number): PathTrace {
  const { config, probe } = ctx.input;
  ctx.t.sidecar = { port, detail: 'traffic for a local address other than 127.0.0.1 goes to the inbound side' };
  ctx.t.match.listener = 'virtualInbound';
  ctx.t.match.cluster = config.inbound.find((p) => p.port === probe.port)?.cluster ?? 'InboundPassthroughClusterIpv4';
  const app = config.era === 'modern' ? ctx.input.resolvedIp : '127.0.0.1';
  ctx.t.destination = { address: `${app}:${probe.port}`, detail: "the pod's own application" };
  ctx.t.note("the inbound (15006) path is summarised: virtualInbound's filter chains are not modelled");
  return ctx.t.end('forwarded');
}

// ---------------------------------------------------------------------------------------------
// Listener and filter chain

function outbound(ctx: Ctx, port: number): PathTrace {
  const { config, probe, resolvedIp } = ctx.input;
  ctx.t.sidecar = { port, detail: `the sidecar reads the original destination ${ctx.dst} (SO_ORIGINAL_DST) and hands the connection on` };
  const listener = selectListener(config.listeners, resolvedIp, probe.port);
  ctx.t.match.listener = listener.name;
  ctx.t.why.listener = listenerLookup(listener, resolvedIp, probe.port);
  const learned = listenerFacts(ctx, listener);
  if (!learned) return ctx.t.end('waits');
  const facts: ConnectionFacts = { dstIp: resolvedIp, dstPort: probe.port, ...learned };
  const chain = matchFilterChain(listener, facts);
  if (!chain) {
    ctx.t.match.error = 'no filter chains matched';
    ctx.t.why.filterChain = `${describeFacts(facts)}; Envoy closes the connection (NR, filter_chain_not_found)`;
    return ctx.t.end('closed');
  }
  if (chain.name !== undefined) ctx.t.match.filterChain = chain.name;
  ctx.t.filterChainMatch = describeChainMatch(dumpMatch(chain.match));
  ctx.t.why.filterChain = chainDetail(chain, listener, facts);
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
 * What the listener filters learn, as harness/sidecar/proxy.ts's inspect() does; undefined when they wait for bytes
 * that never come (Istio's protocol detection timeout is 0: they wait forever).
 */
function listenerFacts(ctx: Ctx, l: Listener): Learned | undefined {
  const { probe } = ctx.input;
  const raw: Learned = { transportProtocol: 'raw_buffer', applicationProtocols: [] };
  if (l.listenerFilters.length === 0) return raw;
  if (!probe.sendsFirst) {
    const filters = l.listenerFilters.join(' and ');
    ctx.t.note(
      `${filters} on ${l.name} ${l.listenerFilters.length > 1 ? 'wait' : 'waits'} for the client's first bytes, and this client waits for the server to speak first`,
    );
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
    ctx.t.note("the client sends an HTTP/1.1 request (curl's default for http:// URLs)");
    return 'http/1.1';
  }
  if (probe.firstBytes === undefined || probe.firstBytes === '') {
    ctx.t.note("the client's first bytes are not known; assumed not to be HTTP");
    return 'not-http';
  }
  const bytes = Buffer.from(probe.firstBytes, 'latin1');
  return codec ? codecVerdict(bytes) : inspectHttp(bytes);
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
  const which =
    chain === l.defaultFilterChain
      ? 'default filter chain (no other chain matched)'
      : `match ${describeChainMatch(dumpMatch(chain.match))}`;
  const filter =
    chain.filter.kind === 'tcp_proxy'
      ? `tcp_proxy → ${chain.filter.cluster}`
      : `http_connection_manager, route ${chain.filter.routeConfigName}`;
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
    const what =
      speaks === 'tls'
        ? 'a TLS ClientHello'
        : speaks === 'h2c'
          ? "an HTTP/2 preface (the lab's codec speaks HTTP/1.1 only)"
          : 'non-HTTP bytes';
    ctx.t.note(`${what} reach the HTTP/1 codec, which answers 400 Bad Request and closes (${config.era} era reply bytes)`);
    ctx.t.match.error = 'protocol error';
    return ctx.t.end('local-reply');
  }
  const host = probe.hostHeader ?? probe.host;
  const route = config.routes.find((r) => r.name === routeName);
  const vh = selectVirtualHost(route, host);
  if (!vh) {
    ctx.t.match.routeConfig = routeName;
    ctx.t.match.error = 'no virtual host matched';
    ctx.t.why.route = `Host ${host}: Envoy answers 404 (NR, route_not_found)`;
    return ctx.t.end('local-reply');
  }
  const action = vh.action;
  Object.assign(ctx.t.match, { routeConfig: routeName, virtualHost: vh.name, ...(vh.routeName ? { route: vh.routeName } : {}) });
  ctx.t.why.route = routeDetail(host, vh);
  if (action.kind === 'direct_response') {
    ctx.t.directResponse = action.status;
    return ctx.t.end('local-reply');
  }
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
    ctx.t.match.cluster = name;
    ctx.t.why.cluster = 'not in the proxy config';
    return noUpstream(ctx, via, `cluster ${name} does not exist`, 'NC');
  }
  ctx.t.match.cluster = name;
  ctx.t.why.cluster = `${cluster.type}${cluster.service ? `, ${cluster.service}` : ''}`;
  if (cluster.type === 'ORIGINAL_DST') {
    ctx.t.destination = { address: ctx.dst, detail: 'the original destination' };
    return ctx.t.end('forwarded');
  }
  if (cluster.endpoints.length === 0) {
    const why = name === BLACKHOLE ? 'BlackHoleCluster has no endpoints' : `${name} has no endpoints`;
    return noUpstream(ctx, via, why, 'UH');
  }
  const endpoints = cluster.endpoints.map((e) => `${e.address}:${e.port}`).join(', ');
  if (cluster.type === 'STRICT_DNS') {
    ctx.t.note(
      `${name} is STRICT_DNS: the sidecar resolves ${cluster.endpoints.map((e) => e.address).join(', ')} itself, whatever ${probe.host} resolved to for the client`,
    );
    ctx.t.destination = { address: endpoints, detail: 'the DNS name(s) the sidecar resolves' };
  } else {
    ctx.t.destination = { address: endpoints, detail: `${cluster.type} endpoints${cluster.endpoints.length > 1 ? ', round robin' : ''}` };
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
