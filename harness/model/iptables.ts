/**
 * The nat/mangle rules istio-iptables installs in a sidecar pod, generated from its flags.
 *
 * Modern (Istio 1.25-1.31): tools/istio-iptables/pkg/capture/run.go, with the flags of
 * tools/istio-iptables/pkg/cmd/root.go and the defaults of tools/common/config/config.go; checked
 * against the real istio-iptables --dry-run by test/tools/iptablesVsIstio.test.ts. Legacy (Istio
 * 1.4-1.6): tools/packaging/common/istio-iptables.sh of those releases and seed 000's
 * iptables-save listing. Pure: no I/O, IPv4 block only.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

import type { IstioEra } from '../scenario/istioVersion.ts';

export type InterceptionMode = 'REDIRECT' | 'TPROXY';

/** Every input of the generator. Ports stay strings: istio-iptables prints them exactly as given. */
export interface IptablesConfig {
  era: IstioEra;
  /** -p: outbound REDIRECT target. */
  proxyPort: string;
  /** -z: inbound REDIRECT/TPROXY target. */
  inboundCapturePort: string;
  /** -e: HBONE port, always RETURNed (modern only; legacy ignores it). */
  inboundTunnelPort: string;
  /** -u, already resolved (never empty-string). */
  proxyUid: string[];
  /** -g, already resolved (defaults to the uid list). */
  proxyGid: string[];
  /** -m */
  interceptionMode: InterceptionMode;
  /** -b as given: '*' = all ports, '' = no inbound capture, else a comma list. */
  inboundPorts: string;
  /** -d: only used when inboundPorts is '*'. */
  inboundPortsExclude: string[];
  /** -i: ['*'] = everything, [] = nothing, else CIDRs. */
  outboundIpRangesInclude: string[];
  /** -x */
  outboundIpRangesExclude: string[];
  /** -q */
  outboundPortsInclude: string[];
  /** -o */
  outboundPortsExclude: string[];
  /** -k */
  kubeVirtInterfaces: string[];
  /** -c */
  excludeInterfaces: string[];
  /** --drop-invalid (modern only). */
  dropInvalid: boolean;
  /** ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR (env only, modern only). */
  ipv4LoopbackCidr: string;
  /** ISTIO_OUTBOUND_OWNER_GROUPS: '*' (the default) captures every group, else only those listed (env only, modern only). */
  ownerGroupsInclude: string;
  /** ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: with include '*', groups never captured (env only, modern only). */
  ownerGroupsExclude: string;
  /**
   * Legacy chain-name case: seed 000's Istio 1.4 distribution wrote `istio_OUTPUT`; 1.5 and 1.6 write
   * `ISTIO_OUTPUT`. Ignored for the modern era.
   */
  legacyChainCase?: 'lower' | 'upper';
}

export const DEFAULT_IPV4_LOOPBACK_CIDR = '127.0.0.1/32';

export const RESTORE_NOTE_LEGACY =
  'Legacy (Istio 1.4-1.6) rules reproduce the iptables-save listing observed in the seed (Istio 1.4.8); ' +
  'the 1.5/1.6 shapes and the restore-text ordering are inferred from that listing and the 1.4 generator, not observed.';

// ---------------------------------------------------------------------------------------------
// Lists and CIDRs (shared with the flag parser)

/** istio-iptables' split(): on ',' only, empty items dropped, items NOT trimmed. */
export function splitList(value: string): string[] {
  return value.split(',').filter((item) => item !== '');
}

/** -i value → list; the lone '*' is the wildcard, anything else must be CIDRs. */
export function parseIncludeRanges(value: string): string[] {
  const ranges = value === '*' ? ['*'] : splitList(value);
  if (!isWildcard(ranges)) ranges.forEach((cidr) => parseCidr(cidr, 'include'));
  return ranges;
}

/** -x value → list; '*' is an error in istio-iptables. */
export function parseExcludeRanges(value: string): string[] {
  if (value === '*') throw new Error('"*" is not allowed for excluded CIDRs; list them');
  const ranges = splitList(value);
  ranges.forEach((cidr) => parseCidr(cidr, 'exclude'));
  return ranges;
}

export function isWildcard(ranges: readonly string[]): boolean {
  return ranges.length === 1 && ranges[0] === '*';
}

interface Cidr {
  text: string;
  family: 4 | 6;
  address: string;
  bits: number;
  isLoopback: boolean;
}

const LOOPBACKS = new BlockList();
LOOPBACKS.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACKS.addAddress('::1', 'ipv6');

/** Parses like Go's netip.ParsePrefix: an address, '/', decimal bits without leading zeros. */
function parseCidr(text: string, role: 'include' | 'exclude' | 'loopback'): Cidr {
  const match = /^([^/%]+)\/(0|[1-9][0-9]{0,2})$/.exec(text);
  const address = match?.[1] ?? '';
  const bits = Number(match?.[2]);
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
  if (!match || family === undefined || bits > (family === 4 ? 32 : 128)) {
    throw new Error(`invalid ${role} CIDR "${text}": expected address/prefix-length, e.g. 10.0.0.0/8`);
  }
  const isLoopback = LOOPBACKS.check(address, family === 4 ? 'ipv4' : 'ipv6');
  return { text, family, address, bits, isLoopback };
}

/** Legacy printed Go net.IPNet.String(), which zeroes host bits (10.0.1.5/24 → 10.0.1.0/24). */
function maskedIpv4(cidr: Cidr): string {
  const mask = cidr.bits === 0 ? 0 : (~0 << (32 - cidr.bits)) >>> 0;
  const value = cidr.address.split('.').reduce((acc, octet) => ((acc << 8) | Number(octet)) >>> 0, 0);
  const network = (value & mask) >>> 0;
  const octets = [24, 16, 8, 0].map((shift) => (network >>> shift) & 255);
  return `${octets.join('.')}/${cidr.bits}`;
}

// ---------------------------------------------------------------------------------------------
// Validation: config objects may be built by hand, so the generator re-checks what it relies on.

function isPort(text: string): boolean {
  return /^[1-9][0-9]{0,4}$/.test(text) && Number(text) <= 65535;
}

export function validateConfig(cfg: IptablesConfig): void {
  const single: Array<[string, string]> = [
    ['-p', cfg.proxyPort],
    ['-z', cfg.inboundCapturePort],
    ['-e', cfg.inboundTunnelPort],
  ];
  for (const [flag, port] of single) {
    if (port === '') throw new Error(`istio-iptables ${flag}: port must not be empty`);
    if (!isPort(port)) throw new Error(`istio-iptables ${flag}: expected a port from 1 to 65535, got "${port}"`);
  }
  const lists: Array<[string, string[]]> = [
    ['-d', cfg.inboundPortsExclude],
    ['-q', cfg.outboundPortsInclude],
    ['-o', cfg.outboundPortsExclude],
  ];
  for (const [flag, ports] of lists) {
    const bad = ports.find((p) => !isPort(p));
    if (bad !== undefined) throw new Error(`istio-iptables ${flag}: expected a comma list of ports from 1 to 65535, got "${bad}"`);
  }
  if (cfg.inboundPorts !== '*' && cfg.inboundPorts !== '') {
    const bad = splitList(cfg.inboundPorts).find((p) => !isPort(p));
    if (bad !== undefined) throw new Error(`istio-iptables -b: expected "*" or a comma list of ports from 1 to 65535, got "${bad}"`);
  }
  if (!isWildcard(cfg.outboundIpRangesInclude)) cfg.outboundIpRangesInclude.forEach((c) => parseCidr(c, 'include'));
  if (cfg.outboundIpRangesExclude.includes('*')) throw new Error('istio-iptables -x: "*" is not allowed');
  cfg.outboundIpRangesExclude.forEach((c) => parseCidr(c, 'exclude'));
  validateLoopbackCidr(cfg.ipv4LoopbackCidr);
  if (cfg.era === 'legacy') validateLegacyScope(cfg);
}

/** Mirrors istio-iptables' ValidateIPv4LoopbackCidr. */
function validateLoopbackCidr(text: string): void {
  const cidr = parseCidr(text, 'loopback');
  if (cidr.family !== 4 || !cidr.isLoopback || cidr.bits < 8) {
    throw new Error(`IPv4 loopback CIDR "${text}" must be inside 127.0.0.0/8 with a prefix length of /8 to /32`);
  }
}

/** Options the 1.4-1.6 generator did not have (or that we have no observation of) are refused, not guessed. */
function validateLegacyScope(cfg: IptablesConfig): void {
  const unsupported: [boolean, string][] = [
    [cfg.interceptionMode === 'TPROXY', 'TPROXY interception (-m TPROXY)'],
    [cfg.outboundPortsInclude.length > 0, 'include outbound ports (-q)'],
    [cfg.excludeInterfaces.length > 0, 'exclude interfaces (-c)'],
    [cfg.dropInvalid, '--drop-invalid'],
    [cfg.ipv4LoopbackCidr !== DEFAULT_IPV4_LOOPBACK_CIDR, 'a custom IPv4 loopback CIDR'],
    [cfg.ownerGroupsInclude !== '*' || cfg.ownerGroupsExclude !== '', 'owner-group capture (ISTIO_OUTBOUND_OWNER_GROUPS*)'],
  ];
  for (const [used, what] of unsupported) {
    if (used) throw new Error(`${what} is not modelled for the legacy era (Istio 1.4-1.6)`);
  }
}

// ---------------------------------------------------------------------------------------------
// Injection: the istio-init args the sidecar injector renders from pod annotations

const ANNOTATION = {
  includeOutboundIPRanges: 'traffic.sidecar.istio.io/includeOutboundIPRanges',
  excludeOutboundIPRanges: 'traffic.sidecar.istio.io/excludeOutboundIPRanges',
  includeInboundPorts: 'traffic.sidecar.istio.io/includeInboundPorts',
  excludeInboundPorts: 'traffic.sidecar.istio.io/excludeInboundPorts',
  includeOutboundPorts: 'traffic.sidecar.istio.io/includeOutboundPorts',
  excludeOutboundPorts: 'traffic.sidecar.istio.io/excludeOutboundPorts',
  kubevirtInterfaces: 'traffic.sidecar.istio.io/kubevirtInterfaces',
  rerouteVirtualInterfaces: 'istio.io/reroute-virtual-interfaces',
  excludeInterfaces: 'traffic.sidecar.istio.io/excludeInterfaces',
  interceptionMode: 'sidecar.istio.io/interceptionMode',
  statusPort: 'status.sidecar.istio.io/port',
} as const;

const DEFAULT_STATUS_PORT = '15020';
/** Modern templates always put the Prometheus (15090) and health (15021) ports in front of -d. */
const MODERN_FIXED_INBOUND_EXCLUDES = ['15090', '15021'];

/** Legacy chain names: lower-case `istio_*` for 1.4 (seed 000), upper-case from 1.5. */
export function legacyChainCase(minor: number): 'lower' | 'upper' {
  return minor >= 5 ? 'upper' : 'lower';
}

export function injectionConfig(annotations: Record<string, string>, era: IstioEra, minor?: number): IptablesConfig {
  const annotation = (key: string, fallback: string): string => annotations[key] ?? fallback;
  const uid = ['1337'];
  const cfg: IptablesConfig = {
    era,
    ...(era === 'legacy' && minor !== undefined ? { legacyChainCase: legacyChainCase(minor) } : {}),
    proxyPort: '15001',
    inboundCapturePort: '15006',
    inboundTunnelPort: '15008',
    proxyUid: uid,
    proxyGid: [...uid],
    interceptionMode: injectedInterceptionMode(annotation(ANNOTATION.interceptionMode, 'REDIRECT')),
    inboundPorts: annotation(ANNOTATION.includeInboundPorts, '*'),
    inboundPortsExclude: injectedInboundExcludes(annotations, era),
    outboundIpRangesInclude: parseIncludeRanges(annotation(ANNOTATION.includeOutboundIPRanges, '*')),
    outboundIpRangesExclude: parseExcludeRanges(annotation(ANNOTATION.excludeOutboundIPRanges, '')),
    outboundPortsInclude: splitList(annotation(ANNOTATION.includeOutboundPorts, '')),
    outboundPortsExclude: splitList(annotation(ANNOTATION.excludeOutboundPorts, '')),
    kubeVirtInterfaces: splitList(injectedKubeVirtInterfaces(annotations, era)),
    excludeInterfaces: splitList(annotation(ANNOTATION.excludeInterfaces, '')),
    dropInvalid: false,
    ipv4LoopbackCidr: DEFAULT_IPV4_LOOPBACK_CIDR,
    ownerGroupsInclude: '*',
    ownerGroupsExclude: '',
  };
  validateConfig(cfg);
  return cfg;
}

function injectedInterceptionMode(mode: string): InterceptionMode {
  if (mode === 'REDIRECT' || mode === 'TPROXY') return mode;
  if (mode === 'NONE') throw new Error('interceptionMode NONE: the injector adds no istio-init container, so no iptables rules');
  throw new Error(`${ANNOTATION.interceptionMode}: unknown value "${mode}" (REDIRECT, TPROXY or NONE)`);
}

/** The newer annotation wins in the modern template; 1.4-1.6 only knew kubevirtInterfaces. */
function injectedKubeVirtInterfaces(annotations: Record<string, string>, era: IstioEra): string {
  const reroute = era === 'modern' ? annotations[ANNOTATION.rerouteVirtualInterfaces] : undefined;
  return reroute ?? annotations[ANNOTATION.kubevirtInterfaces] ?? '';
}

function injectedInboundExcludes(annotations: Record<string, string>, era: IstioEra): string[] {
  const statusPort = annotations[ANNOTATION.statusPort] ?? DEFAULT_STATUS_PORT;
  const withStatus = excludeInboundPort(statusPort, annotations[ANNOTATION.excludeInboundPorts] ?? '');
  const fixed = era === 'modern' ? MODERN_FIXED_INBOUND_EXCLUDES : [];
  return [...fixed, ...splitList(withStatus)];
}

/**
 * The injector's excludeInboundPort template helper: appends the status port to the user's list
 * unless it is already there (then the list is returned untouched); user items are trimmed.
 */
function excludeInboundPort(statusPort: string, userPorts: string): string {
  const port = statusPort.trim();
  if (port === '' || port === '0') return userPorts;
  const items = userPorts.split(',');
  if (items.includes(port)) return userPorts;
  const kept = items.map((item) => item.trim()).filter((item) => item !== '');
  return [...kept, port].join(',');
}

/** The istio-iptables argv (without the program name) in the injection template's order. */
export function injectionArgs(cfg: IptablesConfig): string[] {
  const args = [
    '-p',
    cfg.proxyPort,
    '-z',
    cfg.inboundCapturePort,
    '-u',
    cfg.proxyUid.join(','),
    '-m',
    cfg.interceptionMode,
    '-i',
    cfg.outboundIpRangesInclude.join(','),
    '-x',
    cfg.outboundIpRangesExclude.join(','),
    '-b',
    cfg.inboundPorts,
    '-d',
    cfg.inboundPortsExclude.join(','),
  ];
  const optional: [string, string[]][] = [
    ['-q', cfg.outboundPortsInclude],
    ['-o', cfg.outboundPortsExclude],
    ['-k', cfg.kubeVirtInterfaces],
    ['-c', cfg.excludeInterfaces],
  ];
  for (const [flag, items] of optional) if (items.length > 0) args.push(flag, items.join(','));
  args.push(...nonInjectorArgs(cfg));
  if (cfg.era === 'modern') args.push('--log_output_level=default:info');
  return args;
}

/** The injector never sets these; emitted only when changed so the argv still describes cfg. */
function nonInjectorArgs(cfg: IptablesConfig): string[] {
  const args: string[] = [];
  if (cfg.proxyGid.join(',') !== cfg.proxyUid.join(',')) args.push('-g', cfg.proxyGid.join(','));
  if (cfg.era === 'modern' && cfg.inboundTunnelPort !== '15008') args.push('-e', cfg.inboundTunnelPort);
  if (cfg.dropInvalid) args.push('--drop-invalid');
  return args;
}

// ---------------------------------------------------------------------------------------------
// Rule list and restore-text formatting

type Table = 'filter' | 'mangle' | 'nat' | 'raw';

interface Rule {
  table: Table;
  chain: string;
  /** The whole line after the table, e.g. ['-A', 'OUTPUT', '-j', 'ISTIO_OUTPUT']. */
  words: string[];
}

const BUILTIN_CHAINS = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

class RuleList {
  readonly rules: Rule[] = [];

  append(table: Table, chain: string, ...params: string[]): void {
    this.rules.push({ table, chain, words: ['-A', chain, ...params] });
  }

  insert(table: Table, chain: string, position: number, ...params: string[]): void {
    this.rules.push({ table, chain, words: ['-I', chain, String(position), ...params] });
  }
}

/** Tables alphabetically; per table the -N lines (order of first rule) then the rules as generated. */
function formatRestore(rules: readonly Rule[]): string {
  const tables = [...new Set(rules.map((rule) => rule.table))].sort();
  return tables
    .map((table) =>
      formatTable(
        table,
        rules.filter((rule) => rule.table === table),
      ),
    )
    .join('');
}

function formatTable(table: Table, rules: readonly Rule[]): string {
  const chains = [...new Set(rules.map((rule) => rule.chain))].filter((chain) => !BUILTIN_CHAINS.has(chain));
  const lines = [`* ${table}`, ...chains.map((chain) => `-N ${chain}`), ...rules.map((rule) => rule.words.join(' '))];
  return `${lines.join('\n')}\nCOMMIT\n`;
}

// ---------------------------------------------------------------------------------------------
// Generation

interface Chains {
  inbound: string;
  inRedirect: string;
  output: string;
  redirect: string;
}

const MODERN_CHAINS: Chains = {
  inbound: 'ISTIO_INBOUND',
  inRedirect: 'ISTIO_IN_REDIRECT',
  output: 'ISTIO_OUTPUT',
  redirect: 'ISTIO_REDIRECT',
};

/** Seed 000's 1.4 distribution used lower-case prefixes. */
const LEGACY_CHAINS: Chains = {
  inbound: 'istio_INBOUND',
  inRedirect: 'istio_IN_REDIRECT',
  output: 'istio_OUTPUT',
  redirect: 'istio_REDIRECT',
};

const ISTIO_DIVERT = 'ISTIO_DIVERT';
const ISTIO_TPROXY = 'ISTIO_TPROXY';
const ISTIO_DROP = 'ISTIO_DROP';
const TPROXY_MARK = '1337';
/** Mark Envoy puts on outbound→inbound loopback packets so ISTIO_INBOUND does not capture them again. */
const OUTBOUND_MARK = '1338';
const INBOUND_PASSTHROUGH_SOURCE = '127.0.0.6/32';
/** Hard-coded SSH exclusion of the pre-1.7 generator (seed: `--dport 22 -j RETURN`). */
const LEGACY_SSH_PORT = '22';

/** The exact text istio-iptables feeds to `iptables-restore --noflush` (IPv4 block). */
export function renderRestore(cfg: IptablesConfig): string {
  validateConfig(cfg);
  const rules = new RuleList();
  if (cfg.era === 'modern') generateModern(cfg, rules);
  else generateLegacy(cfg, rules);
  return formatRestore(rules.rules);
}

/** Order follows IptablesConfigurator.Run() in Istio 1.25+. */
function generateModern(cfg: IptablesConfig, rules: RuleList): void {
  const chains = MODERN_CHAINS;
  excludeInterfaceReturns(cfg, rules);
  kubeVirtReturns(cfg, rules);
  if (cfg.dropInvalid) dropInvalidPackets(rules);
  rules.append('nat', chains.inbound, '-p', 'tcp', '--dport', cfg.inboundTunnelPort, '-j', 'RETURN');
  redirectChains(cfg, rules, chains);
  captureInbound(cfg, rules, chains, { sshReturn: false });
  rules.append('nat', 'OUTPUT', '-j', chains.output);
  excludeOutboundPorts(cfg, rules, chains, ['tcp', 'udp']);
  rules.append('nat', chains.output, '-o', 'lo', '-s', INBOUND_PASSTHROUGH_SOURCE, '-j', 'RETURN');
  const keepLoopbackTraffic = includesLoopback(cfg.outboundIpRangesInclude);
  for (const uid of cfg.proxyUid) proxyOwnerRules(cfg, rules, '--uid-owner', uid, keepLoopbackTraffic);
  for (const gid of cfg.proxyGid) proxyOwnerRules(cfg, rules, '--gid-owner', gid, keepLoopbackTraffic);
  captureByOwnerGroup(cfg, rules, chains.output);
  rules.append('nat', chains.output, '-d', cfg.ipv4LoopbackCidr, '-j', 'RETURN');
  excludeOutboundRanges(cfg, rules, chains, (cidr) => cidr.text);
  includeOutboundPorts(cfg, rules, chains);
  includeOutboundRanges(cfg, rules, chains, { trailingReturn: false, print: (cidr) => cidr.text });
  if (cfg.interceptionMode === 'TPROXY') tproxyMarks(cfg, rules);
}

/**
 * ISTIO_OUTBOUND_OWNER_GROUPS / _EXCLUDE (tools/istio-iptables/pkg/capture/run.go
 * handleCaptureByOwnerGroup, tools/common/config/types.go ParseInterceptFilter): with include '*'
 * each excluded group RETURNs; otherwise one rule RETURNs every group that is none of the included.
 */
function captureByOwnerGroup(cfg: IptablesConfig, rules: RuleList, chain: string): void {
  if (cfg.ownerGroupsInclude === '*') {
    for (const group of splitList(cfg.ownerGroupsExclude)) rules.append('nat', chain, '-m', 'owner', '--gid-owner', group, '-j', 'RETURN');
    return;
  }
  const noneOf = splitList(cfg.ownerGroupsInclude).flatMap((group) => ['-m', 'owner', '!', '--gid-owner', group]);
  rules.append('nat', chain, ...noneOf, '-j', 'RETURN');
}

/** Order follows the 1.4 generator (a port of istio-iptables.sh). */
function generateLegacy(cfg: IptablesConfig, rules: RuleList): void {
  const chains = cfg.legacyChainCase === 'upper' ? MODERN_CHAINS : LEGACY_CHAINS;
  kubeVirtReturns(cfg, rules);
  redirectChains(cfg, rules, chains);
  captureInbound(cfg, rules, chains, { sshReturn: true });
  // Pre-1.25 only TCP entered ISTIO_OUTPUT.
  rules.append('nat', 'OUTPUT', '-p', 'tcp', '-j', chains.output);
  excludeOutboundPorts(cfg, rules, chains, ['tcp']);
  rules.append('nat', chains.output, '-o', 'lo', '-s', INBOUND_PASSTHROUGH_SOURCE, '-j', 'RETURN');
  // One owner-independent hairpin rule; 1.18 split it per uid/gid and exempted the tunnel port.
  rules.append('nat', chains.output, '-o', 'lo', '!', '-d', DEFAULT_IPV4_LOOPBACK_CIDR, '-j', chains.inRedirect);
  for (const uid of cfg.proxyUid) rules.append('nat', chains.output, '-m', 'owner', '--uid-owner', uid, '-j', 'RETURN');
  for (const gid of cfg.proxyGid) rules.append('nat', chains.output, '-m', 'owner', '--gid-owner', gid, '-j', 'RETURN');
  rules.append('nat', chains.output, '-d', DEFAULT_IPV4_LOOPBACK_CIDR, '-j', 'RETURN');
  excludeOutboundRanges(cfg, rules, chains, maskedIpv4);
  includeOutboundRanges(cfg, rules, chains, { trailingReturn: true, print: maskedIpv4 });
}

/** -c: traffic on these interfaces never enters the Istio chains. */
function excludeInterfaceReturns(cfg: IptablesConfig, rules: RuleList): void {
  const tables: Table[] = cfg.interceptionMode === 'TPROXY' ? ['nat', 'mangle'] : ['nat'];
  for (const table of tables) {
    for (const iface of cfg.excludeInterfaces) {
      rules.append(table, 'PREROUTING', '-i', iface, '-j', 'RETURN');
      rules.append(table, 'OUTPUT', '-o', iface, '-j', 'RETURN');
    }
  }
}

/** -k: VM traffic must not reach inbound capture (outbound capture is inserted above this later). */
function kubeVirtReturns(cfg: IptablesConfig, rules: RuleList): void {
  for (const iface of cfg.kubeVirtInterfaces) rules.insert('nat', 'PREROUTING', 1, '-i', iface, '-j', 'RETURN');
}

/** 1.24+ shape of --drop-invalid. */
function dropInvalidPackets(rules: RuleList): void {
  rules.append('mangle', 'PREROUTING', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', ISTIO_DROP);
  rules.append('mangle', ISTIO_DROP, '-j', 'DROP');
}

/** The two REDIRECT targets; nat ISTIO_IN_REDIRECT exists in TPROXY mode too (loopback hairpin). */
function redirectChains(cfg: IptablesConfig, rules: RuleList, chains: Chains): void {
  rules.append('nat', chains.redirect, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', cfg.proxyPort);
  rules.append('nat', chains.inRedirect, '-p', 'tcp', '-j', 'REDIRECT', '--to-ports', cfg.inboundCapturePort);
}

/** -b / -d handling; in TPROXY mode it lives in mangle instead of nat. */
function captureInbound(cfg: IptablesConfig, rules: RuleList, chains: Chains, opts: { sshReturn: boolean }): void {
  if (cfg.inboundPorts === '') return;
  const tproxy = cfg.interceptionMode === 'TPROXY';
  if (tproxy) tproxyChains(cfg, rules);
  const table: Table = tproxy ? 'mangle' : 'nat';
  rules.append(table, 'PREROUTING', '-p', 'tcp', '-j', chains.inbound);
  if (cfg.inboundPorts === '*') {
    const returns = opts.sshReturn ? [LEGACY_SSH_PORT, ...cfg.inboundPortsExclude] : cfg.inboundPortsExclude;
    for (const port of returns) rules.append(table, chains.inbound, '-p', 'tcp', '--dport', port, '-j', 'RETURN');
    captureInboundPort(rules, chains, tproxy, []);
  } else {
    for (const port of splitList(cfg.inboundPorts)) captureInboundPort(rules, chains, tproxy, ['--dport', port]);
  }
}

function captureInboundPort(rules: RuleList, chains: Chains, tproxy: boolean, portMatch: string[]): void {
  if (!tproxy) {
    rules.append('nat', chains.inbound, '-p', 'tcp', ...portMatch, '-j', chains.inRedirect);
    return;
  }
  // Established flows go straight to the local socket; new ones are TPROXYed to Envoy.
  const established = ['-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED'];
  rules.append('mangle', chains.inbound, '-p', 'tcp', ...portMatch, ...established, '-j', ISTIO_DIVERT);
  rules.append('mangle', chains.inbound, '-p', 'tcp', ...portMatch, '-j', ISTIO_TPROXY);
}

function tproxyChains(cfg: IptablesConfig, rules: RuleList): void {
  rules.append('mangle', ISTIO_DIVERT, '-j', 'MARK', '--set-mark', TPROXY_MARK);
  rules.append('mangle', ISTIO_DIVERT, '-j', 'ACCEPT');
  const target = ['-j', 'TPROXY', '--tproxy-mark', `${TPROXY_MARK}/0xffffffff`, '--on-port', cfg.inboundCapturePort];
  rules.append('mangle', ISTIO_TPROXY, '!', '-d', cfg.ipv4LoopbackCidr, '-p', 'tcp', ...target);
}

/** -o: placed before everything else in ISTIO_OUTPUT so these ports always bypass Envoy. */
function excludeOutboundPorts(cfg: IptablesConfig, rules: RuleList, chains: Chains, protocols: string[]): void {
  for (const port of cfg.outboundPortsExclude) {
    for (const protocol of protocols) rules.append('nat', chains.output, '-p', protocol, '--dport', port, '-j', 'RETURN');
  }
}

/**
 * The modern uid/gid triplet: hairpin app→VIP→own pod via Envoy inbound, let non-proxy loopback
 * traffic through (unless loopback is explicitly included), and never capture Envoy's own traffic.
 */
function proxyOwnerRules(cfg: IptablesConfig, rules: RuleList, ownerFlag: string, id: string, keepLoopback: boolean): void {
  const chains = MODERN_CHAINS;
  const hairpin = ['-o', 'lo', '!', '-d', cfg.ipv4LoopbackCidr, '-p', 'tcp', '!', '--dport', cfg.inboundTunnelPort];
  rules.append('nat', chains.output, ...hairpin, '-m', 'owner', ownerFlag, id, '-j', chains.inRedirect);
  if (!keepLoopback) rules.append('nat', chains.output, '-o', 'lo', '-m', 'owner', '!', ownerFlag, id, '-j', 'RETURN');
  rules.append('nat', chains.output, '-m', 'owner', ownerFlag, id, '-j', 'RETURN');
}

/** An included loopback CIDR (v4 or v6) means the user wants loopback traffic captured. */
function includesLoopback(include: readonly string[]): boolean {
  if (isWildcard(include)) return false;
  return include.some((text) => parseCidr(text, 'include').isLoopback);
}

/** IPv4 CIDRs only: IPv6 ones belong to the ip6tables block, which the lab does not render. */
function ipv4Cidrs(ranges: readonly string[], role: 'include' | 'exclude'): Cidr[] {
  return ranges.map((text) => parseCidr(text, role)).filter((cidr) => cidr.family === 4);
}

function excludeOutboundRanges(cfg: IptablesConfig, rules: RuleList, chains: Chains, print: (c: Cidr) => string): void {
  for (const cidr of ipv4Cidrs(cfg.outboundIpRangesExclude, 'exclude')) {
    rules.append('nat', chains.output, '-d', print(cidr), '-j', 'RETURN');
  }
}

function includeOutboundPorts(cfg: IptablesConfig, rules: RuleList, chains: Chains): void {
  for (const port of cfg.outboundPortsInclude) {
    rules.append('nat', chains.output, '-p', 'tcp', '--dport', port, '-j', chains.redirect);
  }
}

interface IncludeStyle {
  /** Before 1.23 a CIDR list was closed by `-j RETURN`. */
  trailingReturn: boolean;
  print: (cidr: Cidr) => string;
}

function includeOutboundRanges(cfg: IptablesConfig, rules: RuleList, chains: Chains, style: IncludeStyle): void {
  if (isWildcard(cfg.outboundIpRangesInclude)) {
    rules.append('nat', chains.output, '-j', chains.redirect);
    for (const iface of cfg.kubeVirtInterfaces) rules.insert('nat', 'PREROUTING', 1, '-i', iface, '-j', chains.redirect);
    return;
  }
  const cidrs = ipv4Cidrs(cfg.outboundIpRangesInclude, 'include');
  if (cidrs.length === 0) return;
  for (const cidr of cidrs) {
    const destination = ['-d', style.print(cidr)];
    for (const iface of cfg.kubeVirtInterfaces) {
      rules.insert('nat', 'PREROUTING', 1, '-i', iface, ...destination, '-j', chains.redirect);
    }
    rules.append('nat', chains.output, ...destination, '-j', chains.redirect);
  }
  if (style.trailingReturn) rules.append('nat', chains.output, '-j', 'RETURN');
}

/** TPROXY tail: connmark bookkeeping so replies and Envoy→app hairpins are not re-captured. */
function tproxyMarks(cfg: IptablesConfig, rules: RuleList): void {
  const inbound = MODERN_CHAINS.inbound;
  rules.append('mangle', 'PREROUTING', '-p', 'tcp', '-m', 'mark', '--mark', TPROXY_MARK, '-j', 'CONNMARK', '--save-mark');
  rules.append('mangle', 'OUTPUT', '-p', 'tcp', '-o', 'lo', '-m', 'mark', '--mark', TPROXY_MARK, '-j', 'RETURN');
  const envoyToApp = ['!', '-d', cfg.ipv4LoopbackCidr, '-p', 'tcp', '-o', 'lo', '-m', 'owner'];
  for (const uid of cfg.proxyUid) {
    rules.append('mangle', 'OUTPUT', ...envoyToApp, '--uid-owner', uid, '-j', 'MARK', '--set-mark', OUTBOUND_MARK);
  }
  for (const gid of cfg.proxyGid) {
    rules.append('mangle', 'OUTPUT', ...envoyToApp, '--gid-owner', gid, '-j', 'MARK', '--set-mark', OUTBOUND_MARK);
  }
  rules.append('mangle', 'OUTPUT', '-p', 'tcp', '-m', 'connmark', '--mark', TPROXY_MARK, '-j', 'CONNMARK', '--restore-mark');
  rules.insert('mangle', inbound, 1, '-p', 'tcp', '-m', 'mark', '--mark', TPROXY_MARK, '-j', 'RETURN');
  rules.insert('mangle', inbound, 2, '-p', 'tcp', '-s', INBOUND_PASSTHROUGH_SOURCE, '-i', 'lo', '-j', 'RETURN');
  rules.insert('mangle', inbound, 3, '-p', 'tcp', '-i', 'lo', '-m', 'mark', '!', '--mark', OUTBOUND_MARK, '-j', 'RETURN');
}
