import test from 'ava';
import { RESTORE_NOTE_LEGACY, injectionArgs, injectionConfig, renderRestore, type IptablesConfig } from '../../harness/model/iptables.ts';
import { parseIstioIptablesArgs } from '../../harness/model/iptablesFlags.ts';
import { traffic, lines, INJECTOR_DEFAULT_ARGS } from '../helpers/iptables.ts';

// ---------------------------------------------------------------------------------------------
// Fixtures: istio-iptables' own output for the injector's default flags (the real binary's
// --dry-run agrees, test/tools/iptablesVsIstio.test.ts) and seed 000's iptables-save listing.

const ISTIO_DEFAULT_ARGS = '-p 15001 -z 15006 -u 1337 -m REDIRECT -i * -x  -b * -d 15090,15021,15020 --log_output_level=default:info';

const ISTIO_DEFAULT_RESTORE = `* nat
-N ISTIO_INBOUND
-N ISTIO_REDIRECT
-N ISTIO_IN_REDIRECT
-N ISTIO_OUTPUT
-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN
-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001
-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006
-A PREROUTING -p tcp -j ISTIO_INBOUND
-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN
-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN
-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN
-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT
-A OUTPUT -j ISTIO_OUTPUT
-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
-A ISTIO_OUTPUT -j ISTIO_REDIRECT
COMMIT
`;

/** The default set as iptables-save shows it once applied. */
const ISTIO_DEFAULT_SAVED = `-A PREROUTING -p tcp -j ISTIO_INBOUND
-A OUTPUT -j ISTIO_OUTPUT
-A ISTIO_INBOUND -p tcp -m tcp --dport 15008 -j RETURN
-A ISTIO_INBOUND -p tcp -m tcp --dport 15090 -j RETURN
-A ISTIO_INBOUND -p tcp -m tcp --dport 15021 -j RETURN
-A ISTIO_INBOUND -p tcp -m tcp --dport 15020 -j RETURN
-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT
-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006
-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN
-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -p tcp -m tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -p tcp -m tcp ! --dport 15008 -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
-A ISTIO_OUTPUT -j ISTIO_REDIRECT
-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001`;

/** Seed 000, first iptables-save (Istio 1.4.8), minus counters and comments. */
const SEED_LEGACY_SAVED = `:istio_INBOUND - [0:0]
:istio_IN_REDIRECT - [0:0]
:istio_OUTPUT - [0:0]
:istio_REDIRECT - [0:0]
-A PREROUTING -p tcp -j istio_INBOUND
-A OUTPUT -p tcp -j istio_OUTPUT
-A istio_INBOUND -p tcp -m tcp --dport 22 -j RETURN
-A istio_INBOUND -p tcp -m tcp --dport 15020 -j RETURN
-A istio_INBOUND -p tcp -j istio_IN_REDIRECT
-A istio_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006
-A istio_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN
-A istio_OUTPUT ! -d 127.0.0.1/32 -o lo -j istio_IN_REDIRECT
-A istio_OUTPUT -m owner --uid-owner 1337 -j RETURN
-A istio_OUTPUT -m owner --gid-owner 1337 -j RETURN
-A istio_OUTPUT -d 127.0.0.1/32 -j RETURN
-A istio_OUTPUT -j istio_REDIRECT
-A istio_REDIRECT -p tcp -j REDIRECT --to-ports 15001`;

const ISTIO_TPROXY_MANGLE = `* mangle
-N ISTIO_DIVERT
-N ISTIO_TPROXY
-N ISTIO_INBOUND
-A ISTIO_DIVERT -j MARK --set-mark 1337
-A ISTIO_DIVERT -j ACCEPT
-A ISTIO_TPROXY ! -d 127.0.0.1/32 -p tcp -j TPROXY --tproxy-mark 1337/0xffffffff --on-port 15006
-A PREROUTING -p tcp -j ISTIO_INBOUND
-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN
-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN
-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN
-A ISTIO_INBOUND -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT
-A ISTIO_INBOUND -p tcp -j ISTIO_TPROXY
-A PREROUTING -p tcp -m mark --mark 1337 -j CONNMARK --save-mark
-A OUTPUT -p tcp -o lo -m mark --mark 1337 -j RETURN
-A OUTPUT ! -d 127.0.0.1/32 -p tcp -o lo -m owner --uid-owner 1337 -j MARK --set-mark 1338
-A OUTPUT ! -d 127.0.0.1/32 -p tcp -o lo -m owner --gid-owner 1337 -j MARK --set-mark 1338
-A OUTPUT -p tcp -m connmark --mark 1337 -j CONNMARK --restore-mark
-I ISTIO_INBOUND 1 -p tcp -m mark --mark 1337 -j RETURN
-I ISTIO_INBOUND 2 -p tcp -s 127.0.0.6/32 -i lo -j RETURN
-I ISTIO_INBOUND 3 -p tcp -i lo -m mark ! --mark 1338 -j RETURN
COMMIT
`;

// ---------------------------------------------------------------------------------------------
// Helpers

function modernRestore(args: string[]): string[] {
  return lines(renderRestore(parseIstioIptablesArgs(args, 'modern')));
}

/** The default injection args with some flags replaced or added. */
function withArgs(overrides: Record<string, string>): string[] {
  const args = [...INJECTOR_DEFAULT_ARGS];
  for (const [flag, value] of Object.entries(overrides)) {
    const at = args.indexOf(flag);
    if (at >= 0) args[at + 1] = value;
    else args.push(flag, value);
  }
  return args;
}

function linesAfter(all: string[], anchor: string, count: number): string[] {
  const at = all.indexOf(anchor);
  if (at < 0) throw new Error(`anchor not found: ${anchor}`);
  return all.slice(at + 1, at + 1 + count);
}

function chainRules(all: string[], chain: string): string[] {
  return all.filter((line) => line.startsWith(`-A ${chain} `) || line.startsWith(`-I ${chain} `));
}

/** Where iptables-save puts these options: before the matches, in this order. */
const LEADING_OPTIONS = ['-s', '-d', '-i', '-o', '-p'];

/** Kernel normalisation of one rule as iptables-save prints it (enough for these rule shapes). */
function normaliseRule(params: string[]): string {
  const leading = new Map<string, string[]>();
  const rest: string[] = [];
  for (let i = 0; i < params.length; i++) {
    const negated = params[i] === '!';
    const flag = params[negated ? i + 1 : i] ?? '';
    if (!LEADING_OPTIONS.includes(flag)) {
      rest.push(params[i] ?? '');
      continue;
    }
    const value = params[negated ? i + 2 : i + 1] ?? '';
    leading.set(flag, negated ? ['!', flag, value] : [flag, value]);
    i += negated ? 2 : 1;
  }
  const protocol = leading.get('-p')?.at(-1);
  const portAt = rest.findIndex((word, i) => word === '--dport' || (word === '!' && rest[i + 1] === '--dport'));
  if (protocol && portAt >= 0) rest.splice(portAt, 0, '-m', protocol);
  return [...LEADING_OPTIONS.flatMap((flag) => leading.get(flag) ?? []), ...rest].join(' ');
}

/** What `iptables-save -t nat` lists after `iptables-restore --noflush` of this text into empty tables. */
function savedNatTable(restore: string): string {
  const rules = new Map<string, string[]>();
  const userChains: string[] = [];
  let table = '';
  for (const line of lines(restore)) {
    const words = line.split(' ');
    if (words[0] === '*') table = words[1] ?? '';
    if (table !== 'nat') continue;
    const chain = words[1] ?? '';
    if (words[0] === '-N') userChains.push(chain);
    const chainRules = rules.get(chain) ?? [];
    rules.set(chain, chainRules);
    if (words[0] === '-A') chainRules.push(normaliseRule(words.slice(2)));
    if (words[0] === '-I') chainRules.splice(Number(words[2]) - 1, 0, normaliseRule(words.slice(3)));
  }
  const sorted = [...userChains].sort();
  const chainOrder = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING', ...sorted];
  const headers = sorted.map((chain) => `:${chain} - [0:0]`);
  const body = chainOrder.flatMap((chain) => (rules.get(chain) ?? []).map((rule) => `-A ${chain} ${rule}`));
  return [...headers, ...body].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Default sets

test('modern default injection args match the injection template', (t) => {
  t.is(injectionArgs(injectionConfig({}, 'modern')).join(' '), ISTIO_DEFAULT_ARGS);
});

test("modern default restore text equals istio-iptables' byte for byte", (t) => {
  t.is(renderRestore(injectionConfig({}, 'modern')), ISTIO_DEFAULT_RESTORE);
});

test('modern default set normalises to its iptables-save listing', (t) => {
  const saved = savedNatTable(renderRestore(injectionConfig({}, 'modern')));
  t.is(
    saved
      .split('\n')
      .filter((line) => line.startsWith('-A'))
      .join('\n'),
    ISTIO_DEFAULT_SAVED,
  );
});

test('legacy default restores to exactly the seed iptables-save listing', (t) => {
  t.is(savedNatTable(renderRestore(injectionConfig({}, 'legacy'))), SEED_LEGACY_SAVED);
});

test('legacy default restore text is in the 1.4 generator order', (t) => {
  t.deepEqual(lines(renderRestore(injectionConfig({}, 'legacy'))), [
    '* nat',
    '-N istio_REDIRECT',
    '-N istio_IN_REDIRECT',
    '-N istio_INBOUND',
    '-N istio_OUTPUT',
    '-A istio_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
    '-A istio_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006',
    '-A PREROUTING -p tcp -j istio_INBOUND',
    '-A istio_INBOUND -p tcp --dport 22 -j RETURN',
    '-A istio_INBOUND -p tcp --dport 15020 -j RETURN',
    '-A istio_INBOUND -p tcp -j istio_IN_REDIRECT',
    '-A OUTPUT -p tcp -j istio_OUTPUT',
    '-A istio_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN',
    '-A istio_OUTPUT -o lo ! -d 127.0.0.1/32 -j istio_IN_REDIRECT',
    '-A istio_OUTPUT -m owner --uid-owner 1337 -j RETURN',
    '-A istio_OUTPUT -m owner --gid-owner 1337 -j RETURN',
    '-A istio_OUTPUT -d 127.0.0.1/32 -j RETURN',
    '-A istio_OUTPUT -j istio_REDIRECT',
    'COMMIT',
  ]);
});

test('legacy default injection args are the seed-era ones', (t) => {
  t.is(injectionArgs(injectionConfig({}, 'legacy')).join(' '), '-p 15001 -z 15006 -u 1337 -m REDIRECT -i * -x  -b * -d 15020');
});

test('the legacy fidelity note says what is observed and what is inferred', (t) => {
  t.regex(RESTORE_NOTE_LEGACY, /seed/);
  t.regex(RESTORE_NOTE_LEGACY, /inferred/);
});

// ---------------------------------------------------------------------------------------------
// excludeOutboundIPRanges (-x)

test('legacy excludeOutboundIPRanges adds its RETURN right after the 127.0.0.1 RETURN (seed, second listing)', (t) => {
  const restore = renderRestore(injectionConfig(traffic({ excludeOutboundIPRanges: '10.0.0.0/24' }), 'legacy'));
  t.deepEqual(linesAfter(lines(restore), '-A istio_OUTPUT -d 127.0.0.1/32 -j RETURN', 2), [
    '-A istio_OUTPUT -d 10.0.0.0/24 -j RETURN',
    '-A istio_OUTPUT -j istio_REDIRECT',
  ]);
  const seedSecond = SEED_LEGACY_SAVED.replace(
    '-A istio_OUTPUT -d 127.0.0.1/32 -j RETURN',
    '-A istio_OUTPUT -d 127.0.0.1/32 -j RETURN\n-A istio_OUTPUT -d 10.0.0.0/24 -j RETURN',
  );
  t.is(savedNatTable(restore), seedSecond);
});

test('modern excludeOutboundIPRanges adds its RETURN right after the 127.0.0.1 RETURN', (t) => {
  const all = lines(renderRestore(injectionConfig(traffic({ excludeOutboundIPRanges: '10.0.0.0/24' }), 'modern')));
  t.deepEqual(linesAfter(all, '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN', 2), [
    '-A ISTIO_OUTPUT -d 10.0.0.0/24 -j RETURN',
    '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
  ]);
  t.is(all.at(-1), 'COMMIT');
});

test('-x CIDRs keep argument order and precede -q and -i rules', (t) => {
  const all = modernRestore(withArgs({ '-x': '10.0.0.0/24,192.168.0.0/16', '-q': '8080' }));
  t.deepEqual(linesAfter(all, '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN', 4), [
    '-A ISTIO_OUTPUT -d 10.0.0.0/24 -j RETURN',
    '-A ISTIO_OUTPUT -d 192.168.0.0/16 -j RETURN',
    '-A ISTIO_OUTPUT -p tcp --dport 8080 -j ISTIO_REDIRECT',
    '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
  ]);
});

test('-x 1.1.0.0/16 -i 9.9.0.0/16: the chain ends with the RETURN then the include redirect', (t) => {
  const output = chainRules(modernRestore(withArgs({ '-x': '1.1.0.0/16', '-i': '9.9.0.0/16' })), 'ISTIO_OUTPUT');
  t.deepEqual(output.slice(-3), [
    '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
    '-A ISTIO_OUTPUT -d 1.1.0.0/16 -j RETURN',
    '-A ISTIO_OUTPUT -d 9.9.0.0/16 -j ISTIO_REDIRECT',
  ]);
});

test('-x keeps host bits as given in modern, IPv6 CIDRs stay out of the IPv4 block', (t) => {
  const output = chainRules(modernRestore(withArgs({ '-x': '10.0.1.5/24,fd00::/8' })), 'ISTIO_OUTPUT');
  t.true(output.includes('-A ISTIO_OUTPUT -d 10.0.1.5/24 -j RETURN'));
  t.false(output.some((line) => line.includes('fd00')));
});

test('legacy prints -x and -i CIDRs masked, like Go net.IPNet', (t) => {
  const all = lines(renderRestore(parseIstioIptablesArgs(['-b', '', '-x', '10.0.1.5/24', '-i', '9.9.9.9/16'], 'legacy')));
  t.true(all.includes('-A istio_OUTPUT -d 10.0.1.0/24 -j RETURN'));
  t.true(all.includes('-A istio_OUTPUT -d 9.9.0.0/16 -j istio_REDIRECT'));
});

test('-x * is rejected by the parser and the injector model', (t) => {
  t.throws(() => parseIstioIptablesArgs(['-x', '*'], 'modern'), { message: /-x.*\*/ });
  t.throws(() => injectionConfig(traffic({ excludeOutboundIPRanges: '*' }), 'modern'), { message: /\*/ });
});

// ---------------------------------------------------------------------------------------------
// includeOutboundIPRanges (-i) and -k

test('-i * gives exactly one final catch-all redirect', (t) => {
  const output = chainRules(modernRestore(INJECTOR_DEFAULT_ARGS), 'ISTIO_OUTPUT');
  t.is(output.at(-1), '-A ISTIO_OUTPUT -j ISTIO_REDIRECT');
  t.is(output.filter((line) => line.endsWith('-j ISTIO_REDIRECT')).length, 1);
});

test('-i list gives one redirect per CIDR in order and no catch-all', (t) => {
  const output = chainRules(modernRestore(withArgs({ '-i': '10.0.0.0/8,172.16.0.0/12' })), 'ISTIO_OUTPUT');
  t.deepEqual(output.slice(-3), [
    '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
    '-A ISTIO_OUTPUT -d 10.0.0.0/8 -j ISTIO_REDIRECT',
    '-A ISTIO_OUTPUT -d 172.16.0.0/12 -j ISTIO_REDIRECT',
  ]);
  t.false(output.includes('-A ISTIO_OUTPUT -j ISTIO_REDIRECT'));
  t.false(output.includes('-A ISTIO_OUTPUT -j RETURN'));
});

test('legacy -i list is closed by the pre-1.23 trailing RETURN', (t) => {
  const annotations = traffic({ includeOutboundIPRanges: '10.0.0.0/8' });
  const output = chainRules(lines(renderRestore(injectionConfig(annotations, 'legacy'))), 'istio_OUTPUT');
  t.deepEqual(output.slice(-2), ['-A istio_OUTPUT -d 10.0.0.0/8 -j istio_REDIRECT', '-A istio_OUTPUT -j RETURN']);
});

test('-i "" gives no outbound redirect at all', (t) => {
  const all = modernRestore(withArgs({ '-i': '' }));
  t.false(all.some((line) => line.includes('-j ISTIO_REDIRECT')));
  t.is(chainRules(all, 'ISTIO_OUTPUT').at(-1), '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN');
});

test('an included loopback CIDR drops the lo non-proxy-owner RETURNs', (t) => {
  const isLoopbackReturn = (line: string): boolean => line.startsWith('-A ISTIO_OUTPUT -o lo -m owner !');
  for (const include of ['127.1.2.3/32', '127.0.0.0/8', '10.0.0.0/8,127.0.0.0/8']) {
    const all = modernRestore(withArgs({ '-i': include }));
    t.false(all.some(isLoopbackReturn), include);
    t.true(all.includes('-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN'), include);
  }
  t.is(modernRestore(withArgs({ '-i': '10.0.0.0/8' })).filter(isLoopbackReturn).length, 2);
});

test('-k with -i *: RETURN inserted early, ISTIO_REDIRECT inserted with the include rules', (t) => {
  const all = modernRestore(withArgs({ '-k': 'eth1,eth2' }));
  t.deepEqual(all.slice(5, 7), ['-I PREROUTING 1 -i eth1 -j RETURN', '-I PREROUTING 1 -i eth2 -j RETURN']);
  t.deepEqual(all.slice(-4), [
    '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
    '-I PREROUTING 1 -i eth1 -j ISTIO_REDIRECT',
    '-I PREROUTING 1 -i eth2 -j ISTIO_REDIRECT',
    'COMMIT',
  ]);
});

test('-k with an -i list inserts one redirect per interface and CIDR', (t) => {
  const all = modernRestore(withArgs({ '-k': 'eth1', '-i': '10.0.0.0/8,172.16.0.0/12' }));
  t.deepEqual(all.slice(-5), [
    '-I PREROUTING 1 -i eth1 -d 10.0.0.0/8 -j ISTIO_REDIRECT',
    '-A ISTIO_OUTPUT -d 10.0.0.0/8 -j ISTIO_REDIRECT',
    '-I PREROUTING 1 -i eth1 -d 172.16.0.0/12 -j ISTIO_REDIRECT',
    '-A ISTIO_OUTPUT -d 172.16.0.0/12 -j ISTIO_REDIRECT',
    'COMMIT',
  ]);
});

test('kubevirtInterfaces annotation maps to -k', (t) => {
  const cfg = injectionConfig(traffic({ kubevirtInterfaces: 'net1' }), 'modern');
  t.deepEqual(cfg.kubeVirtInterfaces, ['net1']);
  t.deepEqual(injectionArgs(cfg).slice(-3, -1), ['-k', 'net1']);
});

// ---------------------------------------------------------------------------------------------
// Outbound ports (-o, -q)

test('-o adds a tcp and a udp RETURN per port right after the OUTPUT jump', (t) => {
  const all = modernRestore(withArgs({ '-o': '5555,6666' }));
  t.deepEqual(linesAfter(all, '-A OUTPUT -j ISTIO_OUTPUT', 5), [
    '-A ISTIO_OUTPUT -p tcp --dport 5555 -j RETURN',
    '-A ISTIO_OUTPUT -p udp --dport 5555 -j RETURN',
    '-A ISTIO_OUTPUT -p tcp --dport 6666 -j RETURN',
    '-A ISTIO_OUTPUT -p udp --dport 6666 -j RETURN',
    '-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN',
  ]);
});

test('legacy -o adds a tcp RETURN only', (t) => {
  const all = lines(renderRestore(injectionConfig(traffic({ excludeOutboundPorts: '5555' }), 'legacy')));
  t.deepEqual(linesAfter(all, '-A OUTPUT -p tcp -j istio_OUTPUT', 2), [
    '-A istio_OUTPUT -p tcp --dport 5555 -j RETURN',
    '-A istio_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN',
  ]);
});

test('-q adds tcp redirects after the 127.0.0.1 RETURN and before the -i rules', (t) => {
  const all = modernRestore(withArgs({ '-q': '7000,7001', '-i': '' }));
  t.deepEqual(linesAfter(all, '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN', 3), [
    '-A ISTIO_OUTPUT -p tcp --dport 7000 -j ISTIO_REDIRECT',
    '-A ISTIO_OUTPUT -p tcp --dport 7001 -j ISTIO_REDIRECT',
    'COMMIT',
  ]);
});

test('include/excludeOutboundPorts annotations are emitted as -q/-o only when set', (t) => {
  const args = injectionArgs(injectionConfig(traffic({ includeOutboundPorts: '7000', excludeOutboundPorts: '3306' }), 'modern'));
  t.deepEqual(args.slice(16), ['-q', '7000', '-o', '3306', '--log_output_level=default:info']);
  t.false(injectionArgs(injectionConfig({}, 'modern')).includes('-q'));
});

// ---------------------------------------------------------------------------------------------
// Inbound ports (-b, -d)

test('-b * RETURNs the -d ports in argument order before the catch-all', (t) => {
  const inbound = chainRules(modernRestore(withArgs({ '-d': '15020,9000,15090' })), 'ISTIO_INBOUND');
  t.deepEqual(inbound, [
    '-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN',
    '-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN',
    '-A ISTIO_INBOUND -p tcp --dport 9000 -j RETURN',
    '-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN',
    '-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT',
  ]);
});

test('-b list redirects only those ports and ignores -d', (t) => {
  const all = modernRestore(withArgs({ '-b': '80,443' }));
  t.deepEqual(linesAfter(all, '-A PREROUTING -p tcp -j ISTIO_INBOUND', 2), [
    '-A ISTIO_INBOUND -p tcp --dport 80 -j ISTIO_IN_REDIRECT',
    '-A ISTIO_INBOUND -p tcp --dport 443 -j ISTIO_IN_REDIRECT',
  ]);
  t.false(all.some((line) => line.includes('--dport 15090')));
});

test('-b "" leaves out the PREROUTING jump', (t) => {
  const all = modernRestore(withArgs({ '-b': '' }));
  t.false(all.some((line) => line.startsWith('-A PREROUTING')));
  t.deepEqual(chainRules(all, 'ISTIO_INBOUND'), ['-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN']);
});

test('excludeInboundPorts renders 15090,15021,<user>,15020 and RETURNs in that order', (t) => {
  const cfg = injectionConfig(traffic({ excludeInboundPorts: '4,5,6' }), 'modern');
  const args = injectionArgs(cfg);
  t.is(args[args.indexOf('-d') + 1], '15090,15021,4,5,6,15020');
  t.deepEqual(linesAfter(lines(renderRestore(cfg)), '-A PREROUTING -p tcp -j ISTIO_INBOUND', 7), [
    '-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN',
    '-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN',
    '-A ISTIO_INBOUND -p tcp --dport 4 -j RETURN',
    '-A ISTIO_INBOUND -p tcp --dport 5 -j RETURN',
    '-A ISTIO_INBOUND -p tcp --dport 6 -j RETURN',
    '-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN',
    '-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT',
  ]);
});

test('includeInboundPorts annotation maps to -b', (t) => {
  t.is(injectionConfig(traffic({ includeInboundPorts: '8080' }), 'modern').inboundPorts, '8080');
  t.is(injectionConfig(traffic({ includeInboundPorts: '' }), 'legacy').inboundPorts, '');
});

// ---------------------------------------------------------------------------------------------
// TPROXY, -c, loopback CIDR, drop-invalid

const TPROXY_NAT = ISTIO_DEFAULT_RESTORE.split('\n')
  .filter((line) => !/^-A (PREROUTING|ISTIO_INBOUND -p tcp (--dport 150[29][01]|-j))/.test(line))
  .join('\n');

test("TPROXY moves inbound capture to istio-iptables' mangle block; nat keeps the rest", (t) => {
  const restore = renderRestore(injectionConfig({ 'sidecar.istio.io/interceptionMode': 'TPROXY' }, 'modern'));
  t.is(restore, ISTIO_TPROXY_MANGLE + TPROXY_NAT);
  t.true(TPROXY_NAT.includes('-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN'));
  t.true(TPROXY_NAT.includes('-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006'));
});

test('TPROXY with a -b list gives a DIVERT/TPROXY pair per port', (t) => {
  const all = modernRestore(withArgs({ '-m': 'TPROXY', '-b': '80,443' }));
  t.deepEqual(linesAfter(all, '-A PREROUTING -p tcp -j ISTIO_INBOUND', 4), [
    '-A ISTIO_INBOUND -p tcp --dport 80 -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT',
    '-A ISTIO_INBOUND -p tcp --dport 80 -j ISTIO_TPROXY',
    '-A ISTIO_INBOUND -p tcp --dport 443 -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT',
    '-A ISTIO_INBOUND -p tcp --dport 443 -j ISTIO_TPROXY',
  ]);
});

test('-c adds interface RETURNs at the top of nat', (t) => {
  const all = modernRestore(withArgs({ '-c': 'eth1,eth2' }));
  t.deepEqual(all.slice(5, 10), [
    '-A PREROUTING -i eth1 -j RETURN',
    '-A OUTPUT -o eth1 -j RETURN',
    '-A PREROUTING -i eth2 -j RETURN',
    '-A OUTPUT -o eth2 -j RETURN',
    '-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN',
  ]);
});

test('-c in TPROXY mode also adds the RETURNs at the top of mangle', (t) => {
  const all = modernRestore(withArgs({ '-c': 'eth1', '-m': 'TPROXY' }));
  t.deepEqual(all.slice(0, 7), [
    '* mangle',
    '-N ISTIO_DIVERT',
    '-N ISTIO_TPROXY',
    '-N ISTIO_INBOUND',
    '-A PREROUTING -i eth1 -j RETURN',
    '-A OUTPUT -o eth1 -j RETURN',
    '-A ISTIO_DIVERT -j MARK --set-mark 1337',
  ]);
  t.is(all.filter((line) => line === '-A PREROUTING -i eth1 -j RETURN').length, 2);
});

test('excludeInterfaces annotation maps to -c', (t) => {
  const cfg = injectionConfig(traffic({ excludeInterfaces: 'eth1' }), 'modern');
  t.deepEqual(cfg.excludeInterfaces, ['eth1']);
});

test('a custom loopback CIDR replaces 127.0.0.1/32 in its three places', (t) => {
  const cfg: IptablesConfig = { ...injectionConfig({}, 'modern'), ipv4LoopbackCidr: '127.0.0.0/8' };
  const restore = renderRestore(cfg);
  t.false(restore.includes('127.0.0.1/32'));
  t.is(restore.split('127.0.0.0/8').length - 1, 3);
  t.throws(() => renderRestore({ ...cfg, ipv4LoopbackCidr: '10.0.0.0/8' }), { message: /loopback/ });
});

test('--drop-invalid adds the 1.24+ mangle ISTIO_DROP block', (t) => {
  const all = modernRestore([...INJECTOR_DEFAULT_ARGS, '--drop-invalid']);
  t.deepEqual(all.slice(0, 6), [
    '* mangle',
    '-N ISTIO_DROP',
    '-A PREROUTING -m conntrack --ctstate INVALID -j ISTIO_DROP',
    '-A ISTIO_DROP -j DROP',
    'COMMIT',
    '* nat',
  ]);
});

test('legacy refuses options it does not model', (t) => {
  t.throws(() => injectionConfig({ 'sidecar.istio.io/interceptionMode': 'TPROXY' }, 'legacy'), { message: /TPROXY.*legacy/ });
  t.throws(() => injectionConfig(traffic({ includeOutboundPorts: '80' }), 'legacy'), { message: /-q.*legacy/ });
  t.throws(() => parseIstioIptablesArgs(['-c', 'eth1'], 'legacy'), { message: /-c.*legacy/ });
});

test('interceptionMode NONE means no init container', (t) => {
  t.throws(() => injectionConfig({ 'sidecar.istio.io/interceptionMode': 'NONE' }, 'modern'), { message: /NONE/ });
});
