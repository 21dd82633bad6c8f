/**
 * Parses istio-iptables' own command line into an IptablesConfig.
 *
 * Unset flags take istio-iptables' built-in defaults (tools/common/config/config.go DefaultConfig), not the injector's:
 * with no -i there is no outbound capture, with no -b no inbound capture. Environment variables
 * are not consulted (no I/O here). Flags whose effect is not modelled are refused, never ignored.
 */
import { parseArgs } from 'node:util';
import type { IstioEra } from '../scenario/istioVersion.ts';
import {
  DEFAULT_IPV4_LOOPBACK_CIDR,
  parseExcludeRanges,
  parseIncludeRanges,
  splitList,
  validateConfig,
  type InterceptionMode,
  type IptablesConfig,
} from './iptables.ts';

interface FlagSpec {
  long: string;
  short?: string;
  type: 'string' | 'boolean';
  /** istio-iptables' own default (config.go DefaultConfig()). */
  fallback: string;
  /** Flags the 1.4-1.6 generator did not have, or whose legacy effect we have not observed. */
  modernOnly?: boolean;
}

const MODELLED_FLAGS: readonly FlagSpec[] = [
  { short: 'p', long: 'envoy-port', type: 'string', fallback: '15001' },
  { short: 'z', long: 'inbound-capture-port', type: 'string', fallback: '15006' },
  { short: 'e', long: 'inbound-tunnel-port', type: 'string', fallback: '15008', modernOnly: true },
  { short: 'u', long: 'proxy-uid', type: 'string', fallback: '' },
  { short: 'g', long: 'proxy-gid', type: 'string', fallback: '' },
  { short: 'm', long: 'istio-inbound-interception-mode', type: 'string', fallback: '' },
  { short: 'b', long: 'istio-inbound-ports', type: 'string', fallback: '' },
  { short: 'd', long: 'istio-local-exclude-ports', type: 'string', fallback: '' },
  { short: 'c', long: 'istio-exclude-interfaces', type: 'string', fallback: '', modernOnly: true },
  { short: 'i', long: 'istio-service-cidr', type: 'string', fallback: '' },
  { short: 'x', long: 'istio-service-exclude-cidr', type: 'string', fallback: '' },
  { short: 'q', long: 'istio-outbound-ports', type: 'string', fallback: '', modernOnly: true },
  { short: 'o', long: 'istio-local-outbound-ports-exclude', type: 'string', fallback: '' },
  { short: 'k', long: 'kube-virt-interfaces', type: 'string', fallback: '' },
  { long: 'drop-invalid', type: 'boolean', fallback: 'false', modernOnly: true },
];

/** Accepted because the injector passes it; it only changes logging. */
const IGNORED_FLAG: FlagSpec = { long: 'log_output_level', type: 'string', fallback: '' };

/** Real istio-iptables flags whose effect egress-lab does not reproduce. */
const NOT_MODELLED_FLAGS = new Map<string, string>([
  ['t', 'istio-inbound-tproxy-mark'],
  ['r', 'istio-inbound-tproxy-route-table'],
  ['n', 'dry-run'],
  ...[
    'istio-inbound-tproxy-mark',
    'istio-inbound-tproxy-route-table',
    'dry-run',
    'iptables-probe-port',
    'probe-timeout',
    'skip-rule-apply',
    'run-validation',
    'redirect-dns',
    'capture-all-dns',
    'dual-stack',
    'network-namespace',
    'cni-mode',
    'reconcile',
    'cleanup-only',
    'force-apply',
    'native-nftables',
    'force-iptables-binary',
  ].map((long): [string, string] => [long, long]),
]);

/** The modern user id is `istio-proxy`; that user does not exist in the lab, so "" resolves like Go's fallback. */
const FALLBACK_PROXY_UID = '1337';

/**
 * Inputs istio-iptables takes only from the environment (tools/istio-iptables/pkg/constants/constants.go);
 * the caller passes its environment in, e.g. process.env.
 */
export const ENV_INPUTS = {
  loopbackCidr: 'ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR',
  ownerGroups: 'ISTIO_OUTBOUND_OWNER_GROUPS',
  ownerGroupsExclude: 'ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE',
} as const;

export function parseIstioIptablesArgs(argv: string[], era: IstioEra, env: Record<string, string | undefined> = {}): IptablesConfig {
  const values = collectFlagValues(argv, era);
  const value = (long: string): string => values.get(long) ?? flagSpec(long).fallback;
  const proxyUid = value('proxy-uid') === '' ? [FALLBACK_PROXY_UID] : splitList(value('proxy-uid'));
  const cfg: IptablesConfig = {
    era,
    proxyPort: value('envoy-port'),
    inboundCapturePort: value('inbound-capture-port'),
    inboundTunnelPort: value('inbound-tunnel-port'),
    proxyUid,
    proxyGid: value('proxy-gid') === '' ? [...proxyUid] : splitList(value('proxy-gid')),
    interceptionMode: interceptionMode(value('istio-inbound-interception-mode')),
    inboundPorts: value('istio-inbound-ports'),
    inboundPortsExclude: splitList(value('istio-local-exclude-ports')),
    outboundIpRangesInclude: withFlagName('-i', () => parseIncludeRanges(value('istio-service-cidr'))),
    outboundIpRangesExclude: withFlagName('-x', () => parseExcludeRanges(value('istio-service-exclude-cidr'))),
    outboundPortsInclude: splitList(value('istio-outbound-ports')),
    outboundPortsExclude: splitList(value('istio-local-outbound-ports-exclude')),
    kubeVirtInterfaces: splitList(value('kube-virt-interfaces')),
    excludeInterfaces: splitList(value('istio-exclude-interfaces')),
    dropInvalid: goBool('--drop-invalid', value('drop-invalid')),
    // A variable set to "" is a value, not unset (pkg/env: os.LookupEnv), as in istio-iptables.
    ipv4LoopbackCidr: env[ENV_INPUTS.loopbackCidr] ?? DEFAULT_IPV4_LOOPBACK_CIDR,
    ownerGroupsInclude: env[ENV_INPUTS.ownerGroups] ?? '*',
    ownerGroupsExclude: env[ENV_INPUTS.ownerGroupsExclude] ?? '',
  };
  validateConfig(cfg);
  return cfg;
}

/** Long flag name → raw value; the last occurrence wins, as with pflag. */
function collectFlagValues(argv: string[], era: IstioEra): Map<string, string> {
  const options = Object.fromEntries(
    [...MODELLED_FLAGS, IGNORED_FLAG].map((spec) => [spec.long, spec.short ? { type: spec.type, short: spec.short } : { type: spec.type }]),
  );
  // Non-strict + tokens: we produce our own errors, naming the flag and the accepted set.
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const values = new Map<string, string>();
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') throw new Error(`istio-iptables: unexpected argument "${token.value}"`);
    const spec = knownFlag(token.name, token.rawName, era);
    if (spec === IGNORED_FLAG) continue;
    values.set(spec.long, tokenValue(spec, token.rawName, token.value, token.inlineValue));
  }
  return values;
}

function knownFlag(name: string, rawName: string, era: IstioEra): FlagSpec {
  const spec = MODELLED_FLAGS.find((candidate) => candidate.long === name) ?? (name === IGNORED_FLAG.long ? IGNORED_FLAG : undefined);
  if (spec?.modernOnly && era === 'legacy') {
    throw new Error(`istio-iptables flag ${rawName} is not modelled for the legacy era (Istio 1.4-1.6)`);
  }
  if (spec) return spec;
  if (NOT_MODELLED_FLAGS.has(name)) {
    throw new Error(`istio-iptables flag ${rawName} (--${NOT_MODELLED_FLAGS.get(name)}) is not modelled by egress-lab`);
  }
  throw new Error(`unknown istio-iptables flag ${rawName}; accepted flags: ${acceptedFlags(era)}`);
}

function acceptedFlags(era: IstioEra): string {
  return [...MODELLED_FLAGS.filter((spec) => era === 'modern' || !spec.modernOnly), IGNORED_FLAG]
    .map((spec) => (spec.short ? `-${spec.short}/--${spec.long}` : `--${spec.long}`))
    .join(', ');
}

function tokenValue(spec: FlagSpec, rawName: string, value: string | undefined, inline: boolean | undefined): string {
  if (spec.type === 'boolean') return value ?? 'true';
  if (value === undefined) throw new Error(`istio-iptables flag ${rawName} needs a value`);
  // pflag accepts `-p=15001`; parseArgs hands the '=' through for short flags.
  const shortInline = inline === true && !rawName.startsWith('--');
  return shortInline && value.startsWith('=') ? value.slice(1) : value;
}

function flagSpec(long: string): FlagSpec {
  const spec = MODELLED_FLAGS.find((candidate) => candidate.long === long);
  if (!spec) throw new Error(`internal: no flag --${long}`);
  return spec;
}

/** istio-iptables treats "" as REDIRECT; other spellings are refused rather than silently treated as REDIRECT. */
function interceptionMode(value: string): InterceptionMode {
  if (value === '' || value === 'REDIRECT') return 'REDIRECT';
  if (value === 'TPROXY') return value;
  throw new Error(`istio-iptables flag -m: unknown interception mode "${value}" (REDIRECT or TPROXY)`);
}

/** Go strconv.ParseBool, which pflag uses for `--flag=value`. */
function goBool(flag: string, value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new Error(`istio-iptables flag ${flag}: invalid boolean "${value}"`);
}

function withFlagName<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new Error(`istio-iptables flag ${flag}: ${(error as Error).message}`, { cause: error });
  }
}
