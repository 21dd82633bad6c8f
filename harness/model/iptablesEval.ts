/**
 * Walks the nat table's OUTPUT path for one locally generated packet, as the kernel does for the
 * first packet of a connection: built-in OUTPUT (policy ACCEPT), jumps into user chains, RETURN back
 * to the caller, REDIRECT ends the walk.
 *
 * Input is the restore text renderRestore() produces (an iptables-save listing parses too). Only the
 * nat table is read; other tables do not decide whether a connection reaches the sidecar. Every nat
 * rule is parsed up front and an option this module does not know is an error, so that a new
 * generator option cannot be silently mis-evaluated. Pure: no I/O, IPv4 only.
 */
import { cidrContains } from '../core/net.ts';

export interface Packet {
  dst: string;
  dport: number;
  proto: 'tcp' | 'udp';
  uid: number;
  gid: number;
  outIface: 'lo' | 'eth0';
  /** Source address; rules with -s are treated as not matching (with a note) when it is unknown. */
  src?: string;
}

export interface MatchedRule {
  chain: string;
  /** The rule as `-A CHAIN ...` (an `-I CHAIN N` rule is shown the way iptables-save would list it). */
  rule: string;
  /** 1-based position in its chain, as `iptables -t nat -L CHAIN --line-numbers` numbers it. */
  index: number;
}

export interface Evaluation {
  /**
   * redirect: a REDIRECT rule took the packet. return: a RETURN in an Istio (user) chain let it
   * through and nothing after that matched. accept: it reached OUTPUT's policy ACCEPT otherwise (fell
   * off the chains, RETURN or ACCEPT in a built-in chain). Only 'redirect' means the proxy gets it.
   */
  verdict: 'redirect' | 'return' | 'accept';
  toPort?: number;
  /** Jumps and the deciding rule, in the order the packet met them. */
  matched: MatchedRule[];
  /** Rules the model could not evaluate (marks, conntrack state, unknown source) and treated as not matching. */
  notes: string[];
}

// ---------------------------------------------------------------------------------------------
// Parsed form

/** true/false, or why the model cannot tell (the rule then counts as not matching). */
type Outcome = boolean | { unknown: string };
type Condition = (p: Packet) => Outcome;

type Target =
  { kind: 'jump'; chain: string } | { kind: 'return' } | { kind: 'accept' } | { kind: 'redirect'; toPort: number } | { kind: 'none' };

export interface NatRule {
  chain: string;
  text: string;
  conditions: Condition[];
  target: Target;
}

export interface NatTable {
  /** Rules per chain in kernel order (after -I insertions). Built-in chains are always present. */
  chains: Map<string, NatRule[]>;
}

const NAT_BUILTINS = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'];
/** Deeper than any real rule set; a jump loop (which iptables itself would refuse) ends here. */
const MAX_DEPTH = 32;

// ---------------------------------------------------------------------------------------------
// Restore text → nat table

/** Splits a rule line on blanks, keeping "double quoted" words (iptables-save quotes comments). */
function tokenize(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

export function parseNatTable(restore: string): NatTable {
  const chains = new Map<string, NatRule[]>(NAT_BUILTINS.map((c) => [c, []]));
  let table: string | undefined;
  for (const raw of restore.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) table = line.slice(1).trim();
    else if (line === 'COMMIT') table = undefined;
    else if (table === undefined) throw new Error(`iptables line outside a table: ${line}`);
    else if (table === 'nat') parseNatLine(line, chains);
  }
  checkJumps(chains);
  return { chains };
}

function parseNatLine(line: string, chains: Map<string, NatRule[]>): void {
  const words = tokenize(line);
  const [command, chain = ''] = words;
  if (command?.startsWith(':')) return declareChain(command.slice(1), chain, chains);
  if (command === '-N') return declareChain(chain, '-', chains);
  if (command !== '-A' && command !== '-I') throw new Error(`iptables command not modelled: ${line}`);
  const rules = chains.get(chain);
  if (!rules) throw new Error(`rule for a chain that was never declared: ${line}`);
  // `-I CHAIN` without a number inserts at the top, like iptables.
  const hasPosition = command === '-I' && /^\d+$/.test(words[2] ?? '');
  const position = command === '-A' ? rules.length + 1 : hasPosition ? Number(words[2]) : 1;
  const params = words.slice(hasPosition ? 3 : 2);
  if (position < 1 || position > rules.length + 1) throw new Error(`insert position ${position} is out of range: ${line}`);
  const text = ['-A', chain, ...params].join(' ');
  rules.splice(position - 1, 0, { chain, text, ...parseRule(params, text) });
}

/** `-N CHAIN`, or `:CHAIN POLICY [packets:bytes]` (iptables-save's chain lines). */
function declareChain(chain: string, policy: string, chains: Map<string, NatRule[]>): void {
  if (chain === 'OUTPUT' && policy !== 'ACCEPT') throw new Error(`nat OUTPUT policy ${policy} is not modelled (only ACCEPT)`);
  if (!chains.has(chain)) chains.set(chain, []);
}

/** A jump to a chain that does not exist would make iptables-restore fail; say so here too. */
function checkJumps(chains: Map<string, NatRule[]>): void {
  for (const rule of [...chains.values()].flat()) {
    if (rule.target.kind === 'jump' && !chains.has(rule.target.chain)) {
      throw new Error(`unknown target or chain "${rule.target.chain}": ${rule.text}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One rule's parameters

interface Draft {
  text: string;
  modules: Set<string>;
  conditions: Condition[];
  targetName?: string;
  toPort?: number;
}

interface OptionSpec {
  /** The match module (or target) the option belongs to; the option is refused without it. */
  needs?: string[];
  negatable: boolean;
  apply(value: string, negate: boolean, d: Draft): void;
}

/** A condition, inverted by a preceding `!`; unknown stays unknown. */
function add(d: Draft, negate: boolean, test: Condition): void {
  d.conditions.push(negate ? (p) => invert(test(p)) : test);
}

function invert(o: Outcome): Outcome {
  return typeof o === 'boolean' ? !o : o;
}

/** Modules whose state (marks, conntrack) a single packet description does not carry. */
const UNMODELLED_MODULES: Record<string, string> = {
  mark: 'packet marks are not modelled',
  connmark: 'connection marks are not modelled',
  conntrack: 'conntrack state is not modelled',
};

const KNOWN_MODULES = new Set(['tcp', 'udp', 'multiport', 'owner', 'comment', ...Object.keys(UNMODELLED_MODULES)]);

const OPTIONS: Record<string, OptionSpec> = {
  '-p': { negatable: true, apply: (v, n, d) => protocol(v, n, d) },
  '-s': { negatable: true, apply: (v, n, d) => address('-s', v, n, d) },
  '-d': { negatable: true, apply: (v, n, d) => address('-d', v, n, d) },
  '-o': { negatable: true, apply: (v, n, d) => add(d, n, (p) => ifaceMatches(v, p.outIface)) },
  // Locally generated packets have no input interface: `-i X` never matches, `! -i X` always does.
  '-i': { negatable: true, apply: (_v, n, d) => add(d, n, () => false) },
  '-m': { negatable: false, apply: (v, _n, d) => loadModule(v, d) },
  '--dport': { needs: ['tcp', 'udp'], negatable: true, apply: (v, n, d) => add(d, n, portTest(v, d.text)) },
  '--dports': { needs: ['multiport'], negatable: true, apply: (v, n, d) => add(d, n, portListTest(v, d.text)) },
  '--uid-owner': {
    needs: ['owner'],
    negatable: true,
    apply: (v, n, d) =>
      add(
        d,
        n,
        idTest(v, d.text, (p) => p.uid),
      ),
  },
  '--gid-owner': {
    needs: ['owner'],
    negatable: true,
    apply: (v, n, d) =>
      add(
        d,
        n,
        idTest(v, d.text, (p) => p.gid),
      ),
  },
  '--mark': { needs: ['mark', 'connmark'], negatable: true, apply: () => undefined },
  '--ctstate': { needs: ['conntrack'], negatable: true, apply: () => undefined },
  '--ctstatus': { needs: ['conntrack'], negatable: true, apply: () => undefined },
  '--comment': { needs: ['comment'], negatable: false, apply: () => undefined },
  '-j': { negatable: false, apply: (v, _n, d) => setTarget(v, d) },
  '--to-ports': { needs: ['REDIRECT'], negatable: false, apply: (v, _n, d) => void (d.toPort = redirectPort(v, d.text)) },
};

/** Long spellings iptables accepts for the same options. */
const ALIASES: Record<string, string> = {
  '--protocol': '-p',
  '--source': '-s',
  '--src': '-s',
  '--destination': '-d',
  '--dst': '-d',
  '--out-interface': '-o',
  '--in-interface': '-i',
  '--match': '-m',
  '--jump': '-j',
  '--destination-port': '--dport',
  '--destination-ports': '--dports',
  '--to-port': '--to-ports',
};

function parseRule(params: string[], text: string): Pick<NatRule, 'conditions' | 'target'> {
  const d: Draft = { text, modules: new Set(), conditions: [] };
  let negate = false;
  for (let i = 0; i < params.length; i++) {
    const word = params[i]!;
    if (word === '!') {
      if (negate) throw new Error(`double "!" in rule: ${text}`);
      negate = true;
      continue;
    }
    const name = ALIASES[word] ?? word;
    const spec = OPTIONS[name];
    if (!spec) throw new Error(`unknown iptables option "${word}" in rule: ${text}`);
    checkOption(name, spec, negate, d);
    const value = params[++i];
    if (value === undefined) throw new Error(`option ${word} needs a value in rule: ${text}`);
    spec.apply(value, negate, d);
    negate = false;
  }
  if (negate) throw new Error(`dangling "!" in rule: ${text}`);
  return { conditions: d.conditions, target: target(d) };
}

function checkOption(name: string, spec: OptionSpec, negate: boolean, d: Draft): void {
  if (negate && !spec.negatable) throw new Error(`"!" before ${name} is not allowed in rule: ${d.text}`);
  const loaded = [...d.modules, d.targetName ?? ''];
  if (spec.needs && !spec.needs.some((m) => loaded.includes(m))) {
    throw new Error(
      `option ${name} needs ${spec.needs.map((m) => (m === m.toUpperCase() ? `-j ${m}` : `-m ${m}`)).join(' or ')} in rule: ${d.text}`,
    );
  }
}

function loadModule(name: string, d: Draft): void {
  if (!KNOWN_MODULES.has(name)) throw new Error(`match module -m ${name} is not modelled, in rule: ${d.text}`);
  d.modules.add(name);
  const why = UNMODELLED_MODULES[name];
  if (why) d.conditions.push(() => ({ unknown: `-m ${name} (${why})` }));
}

/** Real targets the walk does not run (they change the packet, or end it in ways the verdict has no word for). */
const UNMODELLED_TARGETS = new Set([
  'DNAT',
  'SNAT',
  'MASQUERADE',
  'DROP',
  'REJECT',
  'MARK',
  'CONNMARK',
  'TPROXY',
  'LOG',
  'TRACE',
  'NETMAP',
  'CT',
]);

/** Refused at -j, before its options, so the error names the target rather than its first option. */
function setTarget(name: string, d: Draft): void {
  if (UNMODELLED_TARGETS.has(name)) throw new Error(`target ${name} is not modelled: ${d.text}`);
  d.targetName = name;
}

function target(d: Draft): Target {
  const name = d.targetName;
  if (name === undefined) return { kind: 'none' };
  if (name === 'RETURN') return { kind: 'return' };
  if (name === 'ACCEPT') return { kind: 'accept' };
  if (name === 'REDIRECT') {
    if (d.toPort === undefined) throw new Error(`REDIRECT without --to-ports is not modelled: ${d.text}`);
    return { kind: 'redirect', toPort: d.toPort };
  }
  // Anything else must be a chain; checkJumps() refuses names that are neither.
  return { kind: 'jump', chain: name };
}

// ---------------------------------------------------------------------------------------------
// Match values

function protocol(value: string, negate: boolean, d: Draft): void {
  const names: Record<string, Packet['proto'] | 'all'> = { tcp: 'tcp', '6': 'tcp', udp: 'udp', '17': 'udp', all: 'all', '0': 'all' };
  const proto = names[value];
  if (!proto) throw new Error(`protocol ${value} is not modelled, in rule: ${d.text}`);
  // Like iptables, -p tcp|udp makes the protocol's own options (--dport) available.
  if (proto !== 'all' && !negate) d.modules.add(proto);
  add(d, negate, (p) => proto === 'all' || p.proto === proto);
}

function address(flag: '-s' | '-d', value: string, negate: boolean, d: Draft): void {
  const cidr = checkedCidr(value, d.text);
  if (flag === '-d') return add(d, negate, (p) => cidrContains(cidr, p.dst));
  add(d, negate, (p) =>
    p.src === undefined ? { unknown: `-s ${value} (the packet's source address is not known)` } : cidrContains(cidr, p.src),
  );
}

function checkedCidr(value: string, text: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(value);
  const octetsOk = m?.slice(1, 5).every((o) => Number(o) <= 255);
  if (!m || !octetsOk || Number(m[5] ?? 32) > 32) throw new Error(`address ${value} is not an IPv4 address or CIDR, in rule: ${text}`);
  return m[5] === undefined ? `${value}/32` : value;
}

/** iptables interface names: exact, or a trailing "+" for any name with that prefix. */
function ifaceMatches(pattern: string, iface: string): boolean {
  return pattern.endsWith('+') ? iface.startsWith(pattern.slice(0, -1)) : iface === pattern;
}

/** "N" or "N:M" (inclusive). */
function portRange(value: string, text: string): [number, number] {
  const m = /^(\d+)(?::(\d+))?$/.exec(value);
  if (!m) throw new Error(`port ${value} is not a number or range, in rule: ${text}`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

function portTest(value: string, text: string): Condition {
  const [lo, hi] = portRange(value, text);
  return (p) => p.dport >= lo && p.dport <= hi;
}

function portListTest(value: string, text: string): Condition {
  const ranges = value.split(',').map((item) => portRange(item, text));
  return (p) => ranges.some(([lo, hi]) => p.dport >= lo && p.dport <= hi);
}

/** "N" or "N-M"; user and group names would need /etc/passwd, which a pure model does not read. */
function idTest(value: string, text: string, id: (p: Packet) => number): Condition {
  const m = /^(\d+)(?:-(\d+))?$/.exec(value);
  if (!m) throw new Error(`owner ${value} is not a numeric id or range (names are not resolved), in rule: ${text}`);
  const [lo, hi] = [Number(m[1]), Number(m[2] ?? m[1])];
  return (p) => id(p) >= lo && id(p) <= hi;
}

/** "--to-ports N" or "N-M"; REDIRECT uses the first port of a range for a single connection. */
function redirectPort(value: string, text: string): number {
  const m = /^(\d+)(?:-\d+)?$/.exec(value);
  if (!m) throw new Error(`--to-ports ${value} is not a port or range, in rule: ${text}`);
  return Number(m[1]);
}

// ---------------------------------------------------------------------------------------------
// The walk

/** Whether every condition holds; a condition the model cannot evaluate makes the rule not match, with a note. */
function ruleMatches(rule: NatRule, packet: Packet, notes: string[]): boolean {
  const outcomes = rule.conditions.map((c) => c(packet));
  if (outcomes.includes(false)) return false;
  const unknown = outcomes.filter((o): o is { unknown: string } => typeof o === 'object');
  if (unknown.length === 0) return true;
  notes.push(`${rule.text}: ${unknown.map((u) => u.unknown).join(', ')}; treated as not matching`);
  return false;
}

interface Position {
  chain: string;
  /** 0-based index of the next rule to look at. */
  next: number;
}

export function evaluateOutput(restore: string, packet: Packet): Evaluation {
  return evaluateTable(parseNatTable(restore), packet);
}

export function evaluateTable(table: NatTable, packet: Packet): Evaluation {
  const matched: MatchedRule[] = [];
  const notes: string[] = [];
  const stack: Position[] = [];
  let at: Position = { chain: 'OUTPUT', next: 0 };
  // Set by a RETURN out of a user chain, cleared by any later match: "an Istio rule let it through".
  let returned = false;
  const done = (verdict: Evaluation['verdict'], toPort?: number): Evaluation => ({
    verdict,
    ...(toPort !== undefined ? { toPort } : {}),
    matched,
    notes,
  });
  for (;;) {
    const rule = table.chains.get(at.chain)?.[at.next];
    if (!rule) {
      // Falling off a user chain returns to the caller; falling off OUTPUT reaches its policy.
      const caller = stack.pop();
      if (!caller) return done(returned ? 'return' : 'accept');
      at = caller;
      continue;
    }
    at = { chain: at.chain, next: at.next + 1 };
    if (rule.target.kind === 'none' || !ruleMatches(rule, packet, notes)) continue;
    matched.push({ chain: rule.chain, rule: rule.text, index: at.next });
    returned = false;
    switch (rule.target.kind) {
      case 'redirect':
        return done('redirect', rule.target.toPort);
      case 'accept':
        return done('accept');
      case 'return': {
        const caller = stack.pop();
        if (!caller) return done('accept');
        returned = true;
        at = caller;
        break;
      }
      case 'jump':
        if (stack.length >= MAX_DEPTH) throw new Error(`nat chains nest deeper than ${MAX_DEPTH} (a jump loop?) at: ${rule.text}`);
        stack.push(at);
        at = { chain: rule.target.chain, next: 0 };
        break;
    }
  }
}
