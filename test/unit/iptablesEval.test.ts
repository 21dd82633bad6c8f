/** The nat OUTPUT walk over restore text from the real generator, and hand-written rules for the edges. */
import test from 'ava';
import { injectionConfig, renderRestore, type IptablesConfig } from '../../harness/model/iptables.ts';
import type { IstioEra } from '../../harness/scenario/istioVersion.ts';
import { evaluateOutput, parseNatTable, type Evaluation, type Packet } from '../../harness/model/iptablesEval.ts';

const POD_IP = '10.64.192.14';
const app: Packet = { dst: '10.0.0.6', dport: 7000, proto: 'tcp', uid: 1000, gid: 1000, outIface: 'eth0', src: POD_IP };
const loopback: Packet = { ...app, dst: '127.0.0.1', outIface: 'lo', src: '127.0.0.1' };

const restoreFor = (annotations: Record<string, string>, era: IstioEra, minor?: number) =>
  renderRestore(injectionConfig(annotations, era, minor));
const LEGACY_1_4 = restoreFor({}, 'legacy', 4);
const MODERN = restoreFor({}, 'modern');

const rules = (e: Evaluation) => e.matched.map((m) => m.rule);
const last = (e: Evaluation) => e.matched.at(-1)?.rule;

/** A nat table with the given ISTIO_OUTPUT rules behind `-A OUTPUT -j ISTIO_OUTPUT`. */
function nat(...lines: string[]): string {
  return [
    '* nat',
    '-N ISTIO_OUTPUT',
    '-N ISTIO_REDIRECT',
    '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
    '-A OUTPUT -j ISTIO_OUTPUT',
    ...lines,
    'COMMIT',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Generated rules

test('legacy 1.4: an app connection is redirected to 15001 through istio_OUTPUT and istio_REDIRECT', (t) => {
  const e = evaluateOutput(LEGACY_1_4, app);
  t.is(e.verdict, 'redirect');
  t.is(e.toPort, 15001);
  t.deepEqual(e.matched, [
    { chain: 'OUTPUT', rule: '-A OUTPUT -p tcp -j istio_OUTPUT', index: 1 },
    { chain: 'istio_OUTPUT', rule: '-A istio_OUTPUT -j istio_REDIRECT', index: 6 },
    { chain: 'istio_REDIRECT', rule: '-A istio_REDIRECT -p tcp -j REDIRECT --to-ports 15001', index: 1 },
  ]);
  t.deepEqual(e.notes, []);
});

test('uid 1337 (the proxy) RETURNs on the owner rule, in both eras', (t) => {
  const legacy = evaluateOutput(LEGACY_1_4, { ...app, uid: 1337, gid: 1337 });
  t.is(legacy.verdict, 'return');
  t.is(last(legacy), '-A istio_OUTPUT -m owner --uid-owner 1337 -j RETURN');
  const modern = evaluateOutput(MODERN, { ...app, uid: 1337, gid: 1337 });
  t.is(modern.verdict, 'return');
  t.is(last(modern), '-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN');
});

test('gid 1337 alone is enough: the gid owner rule RETURNs', (t) => {
  const e = evaluateOutput(LEGACY_1_4, { ...app, uid: 1000, gid: 1337 });
  t.is(e.verdict, 'return');
  t.is(last(e), '-A istio_OUTPUT -m owner --gid-owner 1337 -j RETURN');
});

test('127.0.0.1 RETURNs: legacy by -d 127.0.0.1/32, modern by the "! --uid-owner" loopback rule', (t) => {
  const legacy = evaluateOutput(LEGACY_1_4, loopback);
  t.is(legacy.verdict, 'return');
  t.is(last(legacy), '-A istio_OUTPUT -d 127.0.0.1/32 -j RETURN');
  const modern = evaluateOutput(MODERN, loopback);
  t.is(modern.verdict, 'return');
  t.is(last(modern), '-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN');
});

test('the proxy dialling its own pod IP hairpins to 15006, except the tunnel port 15008', (t) => {
  const self: Packet = { ...app, dst: POD_IP, outIface: 'lo', uid: 1337, gid: 1337 };
  const hairpin = evaluateOutput(MODERN, self);
  t.is(hairpin.verdict, 'redirect');
  t.is(hairpin.toPort, 15006);
  const tunnel = evaluateOutput(MODERN, { ...self, dport: 15008 });
  t.is(tunnel.verdict, 'return');
  t.is(last(tunnel), '-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN');
});

test('excludeOutboundIPRanges: the -d RETURN decides for the range, other addresses are still redirected', (t) => {
  const restore = restoreFor({ 'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.0.0.0/24' }, 'legacy', 4);
  const inside = evaluateOutput(restore, app);
  t.is(inside.verdict, 'return');
  t.deepEqual(rules(inside), ['-A OUTPUT -p tcp -j istio_OUTPUT', '-A istio_OUTPUT -d 10.0.0.0/24 -j RETURN']);
  t.is(evaluateOutput(restore, { ...app, dst: '10.0.1.6' }).verdict, 'redirect');
});

test('includeOutboundIPRanges: modern falls off ISTIO_OUTPUT (accept), legacy hits its trailing -j RETURN', (t) => {
  const include = { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '10.64.192.0/24,10.233.0.0/18' };
  const external = { ...app, dst: '10.20.0.80', dport: 80 };
  const modern = evaluateOutput(restoreFor(include, 'modern'), external);
  t.is(modern.verdict, 'accept');
  t.deepEqual(rules(modern), ['-A OUTPUT -j ISTIO_OUTPUT']);
  const legacy = evaluateOutput(restoreFor(include, 'legacy', 5), external);
  t.is(legacy.verdict, 'return');
  t.is(last(legacy), '-A ISTIO_OUTPUT -j RETURN');
  const service = evaluateOutput(restoreFor(include, 'modern'), { ...app, dst: '10.233.0.80' });
  t.is(service.verdict, 'redirect');
  t.true(rules(service).includes('-A ISTIO_OUTPUT -d 10.233.0.0/18 -j ISTIO_REDIRECT'));
});

test('excludeOutboundPorts: modern RETURNs tcp and udp; legacy never sends udp into istio_OUTPUT', (t) => {
  const ports = { 'traffic.sidecar.istio.io/excludeOutboundPorts': '25' };
  const modern = restoreFor(ports, 'modern');
  t.is(last(evaluateOutput(modern, { ...app, dport: 25 })), '-A ISTIO_OUTPUT -p tcp --dport 25 -j RETURN');
  t.is(last(evaluateOutput(modern, { ...app, dport: 25, proto: 'udp' })), '-A ISTIO_OUTPUT -p udp --dport 25 -j RETURN');
  const legacyUdp = evaluateOutput(restoreFor(ports, 'legacy', 4), { ...app, proto: 'udp' });
  t.is(legacyUdp.verdict, 'accept');
  t.deepEqual(legacyUdp.matched, []);
});

test('includeOutboundPorts with no CIDRs: only the listed port is redirected', (t) => {
  const restore = restoreFor(
    { 'traffic.sidecar.istio.io/includeOutboundIPRanges': '', 'traffic.sidecar.istio.io/includeOutboundPorts': '3306' },
    'modern',
  );
  const mysql = evaluateOutput(restore, { ...app, dport: 3306 });
  t.is(mysql.verdict, 'redirect');
  t.true(rules(mysql).includes('-A ISTIO_OUTPUT -p tcp --dport 3306 -j ISTIO_REDIRECT'));
  t.is(evaluateOutput(restore, app).verdict, 'accept');
});

test('excludeInterfaces: RETURN in the built-in OUTPUT chain is the policy, verdict accept', (t) => {
  const restore = restoreFor({ 'traffic.sidecar.istio.io/excludeInterfaces': 'eth0' }, 'modern');
  const e = evaluateOutput(restore, app);
  t.is(e.verdict, 'accept');
  t.deepEqual(e.matched, [{ chain: 'OUTPUT', rule: '-A OUTPUT -o eth0 -j RETURN', index: 1 }]);
});

test('every option the generator has parses, TPROXY and --drop-invalid included (mangle rules are ignored)', (t) => {
  const base = injectionConfig({}, 'modern');
  const everything: IptablesConfig = {
    ...base,
    interceptionMode: 'TPROXY',
    inboundPorts: '8080,9090',
    outboundIpRangesExclude: ['10.0.0.0/24'],
    outboundIpRangesInclude: ['10.64.192.0/24', '127.0.0.0/8'],
    outboundPortsInclude: ['3306'],
    outboundPortsExclude: ['25'],
    kubeVirtInterfaces: ['net1'],
    excludeInterfaces: ['eth1'],
    dropInvalid: true,
    proxyGid: ['1337', '1338'],
  };
  const restore = renderRestore(everything);
  t.is(evaluateOutput(restore, { ...app, dst: '10.20.0.9', dport: 3306 }).verdict, 'redirect', '-q');
  t.is(evaluateOutput(restore, { ...app, dport: 3306 }).verdict, 'return', '-x comes before -q');
  t.is(evaluateOutput(restore, { ...app, dst: '10.64.192.20', dport: 25 }).verdict, 'return', '-o comes first');
  t.is(evaluateOutput(restore, { ...app, dst: '10.64.192.20' }).verdict, 'redirect', '-i');
  t.is(evaluateOutput(restore, { ...app, dst: '10.20.0.9' }).verdict, 'accept', 'outside -i');
  const legacy = restoreFor(
    {
      'traffic.sidecar.istio.io/kubevirtInterfaces': 'net1',
      'traffic.sidecar.istio.io/excludeOutboundPorts': '25',
      'traffic.sidecar.istio.io/includeInboundPorts': '',
    },
    'legacy',
    6,
  );
  t.is(evaluateOutput(legacy, app).verdict, 'redirect');
});

test('-k insertions land where iptables puts them: two "-I PREROUTING 1" leave the second on top', (t) => {
  const restore = restoreFor({ 'traffic.sidecar.istio.io/kubevirtInterfaces': 'net1,net2' }, 'legacy', 5);
  const prerouting = parseNatTable(restore)
    .chains.get('PREROUTING')!
    .map((r) => r.text);
  t.deepEqual(prerouting.slice(0, 4), [
    '-A PREROUTING -i net2 -j ISTIO_REDIRECT',
    '-A PREROUTING -i net1 -j ISTIO_REDIRECT',
    '-A PREROUTING -i net2 -j RETURN',
    '-A PREROUTING -i net1 -j RETURN',
  ]);
  t.is(prerouting.at(-1), '-A PREROUTING -p tcp -j ISTIO_INBOUND');
});

test('an iptables-save listing (":CHAIN" lines, -m tcp, reordered options) evaluates like the restore text', (t) => {
  const saved = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':ISTIO_OUTPUT - [0:0]',
    ':ISTIO_REDIRECT - [0:0]',
    '-A OUTPUT -j ISTIO_OUTPUT',
    '-A ISTIO_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN',
    '-A ISTIO_OUTPUT -p tcp -m tcp --dport 25 -j RETURN',
    '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
    '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
    'COMMIT',
  ].join('\n');
  t.is(evaluateOutput(saved, { ...app, dport: 25 }).verdict, 'return');
  t.is(evaluateOutput(saved, app).toPort, 15001);
});

// ---------------------------------------------------------------------------------------------
// Hand-written rules: negations, insertions, what is not modelled

test('"!" forms: -p, -d, -o, --dport, multiport --dports, -i', (t) => {
  const verdict = (rule: string, p: Packet = app) => evaluateOutput(nat(rule, '-A ISTIO_OUTPUT -j ISTIO_REDIRECT'), p).verdict;
  t.is(verdict('-A ISTIO_OUTPUT ! -p udp -j RETURN'), 'return');
  t.is(verdict('-A ISTIO_OUTPUT ! -p tcp -j RETURN'), 'redirect');
  t.is(verdict('-A ISTIO_OUTPUT ! -d 10.0.0.0/24 -j RETURN'), 'redirect');
  t.is(verdict('-A ISTIO_OUTPUT ! -d 10.0.1.0/24 -j RETURN'), 'return');
  t.is(verdict('-A ISTIO_OUTPUT ! -o lo -j RETURN'), 'return');
  t.is(verdict('-A ISTIO_OUTPUT ! -o lo -j RETURN', loopback), 'redirect');
  t.is(verdict('-A ISTIO_OUTPUT -o eth+ -j RETURN'), 'return');
  t.is(verdict('-A ISTIO_OUTPUT -p tcp ! --dport 7000 -j RETURN'), 'redirect');
  t.is(verdict('-A ISTIO_OUTPUT -p tcp --dport 6000:7999 -j RETURN'), 'return');
  t.is(verdict('-A ISTIO_OUTPUT -p tcp -m multiport --dports 80,443,7000 -j RETURN'), 'return');
  t.is(verdict('-A ISTIO_OUTPUT -p tcp -m multiport ! --dports 80,443 -j RETURN'), 'return');
  t.is(verdict('-A ISTIO_OUTPUT -p tcp -m multiport ! --dports 80,7000 -j RETURN'), 'redirect');
  // A locally generated packet has no input interface.
  t.is(verdict('-A ISTIO_OUTPUT -i eth0 -j RETURN'), 'redirect');
  t.is(verdict('-A ISTIO_OUTPUT ! -i eth0 -j RETURN'), 'return');
});

test('"!" may come before --uid-owner and --gid-owner; id ranges work', (t) => {
  const verdict = (rule: string, p: Packet) => evaluateOutput(nat(rule, '-A ISTIO_OUTPUT -j ISTIO_REDIRECT'), p).verdict;
  t.is(verdict('-A ISTIO_OUTPUT -m owner ! --uid-owner 1337 -j RETURN', app), 'return');
  t.is(verdict('-A ISTIO_OUTPUT -m owner ! --uid-owner 1337 -j RETURN', { ...app, uid: 1337 }), 'redirect');
  t.is(verdict('-A ISTIO_OUTPUT -m owner ! --gid-owner 1000 -j RETURN', app), 'redirect');
  t.is(verdict('-A ISTIO_OUTPUT -m owner --uid-owner 900-1100 -j RETURN', app), 'return');
});

test('-I CHAIN N puts the rule at position N and the walk reports that index', (t) => {
  const restore = nat(
    '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
    '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
    '-I ISTIO_OUTPUT 2 -d 10.0.0.6/32 -j RETURN',
  );
  const e = evaluateOutput(restore, app);
  t.is(e.verdict, 'return');
  t.deepEqual(e.matched.at(-1), { chain: 'ISTIO_OUTPUT', rule: '-A ISTIO_OUTPUT -d 10.0.0.6/32 -j RETURN', index: 2 });
  const top = evaluateOutput(nat('-A ISTIO_OUTPUT -j ISTIO_REDIRECT', '-I ISTIO_OUTPUT -p tcp -j RETURN'), app);
  t.is(top.matched.at(-1)?.index, 1, '-I without a number inserts at the top');
  t.throws(() => evaluateOutput(nat('-I ISTIO_OUTPUT 3 -j RETURN'), app), { message: /position 3 is out of range/ });
});

test('-m mark / conntrack / connmark are not evaluated: the rule does not match and a note says so', (t) => {
  const e = evaluateOutput(
    nat(
      '-A ISTIO_OUTPUT -m mark --mark 0x539 -j RETURN',
      '-A ISTIO_OUTPUT -m conntrack --ctstate NEW -j RETURN',
      '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
    ),
    app,
  );
  t.is(e.verdict, 'redirect');
  t.is(e.notes.length, 2);
  t.regex(
    e.notes[0]!,
    /^-A ISTIO_OUTPUT -m mark --mark 0x539 -j RETURN: -m mark \(packet marks are not modelled\); treated as not matching$/,
  );
  t.regex(e.notes[1]!, /conntrack state is not modelled/);
});

test('a mark rule that fails on another condition anyway gets no note', (t) => {
  const e = evaluateOutput(nat('-A ISTIO_OUTPUT -o lo -m connmark --mark 1337 -j RETURN', '-A ISTIO_OUTPUT -j ISTIO_REDIRECT'), app);
  t.deepEqual(e.notes, []);
});

test('-s with an unknown source address does not match, with a note', (t) => {
  const { src: _src, ...noSource } = app;
  const e = evaluateOutput(nat('-A ISTIO_OUTPUT -s 10.64.192.0/24 -j RETURN', '-A ISTIO_OUTPUT -j ISTIO_REDIRECT'), noSource);
  t.is(e.verdict, 'redirect');
  t.regex(e.notes[0] ?? '', /source address is not known/);
  t.is(evaluateOutput(nat('-A ISTIO_OUTPUT -s 10.64.192.0/24 -j RETURN'), app).verdict, 'return');
});

test('unknown options, modules, targets and chains throw with the rule text', (t) => {
  const bad = (rule: string) => () => evaluateOutput(nat(rule), app);
  t.throws(bad('-A ISTIO_OUTPUT -p tcp --sport 22 -j RETURN'), {
    message: /unknown iptables option "--sport" in rule: -A ISTIO_OUTPUT -p tcp --sport 22 -j RETURN/,
  });
  t.throws(bad('-A ISTIO_OUTPUT -m set --match-set x dst -j RETURN'), {
    message: /-m set is not modelled, in rule: -A ISTIO_OUTPUT -m set/,
  });
  t.throws(bad('-A ISTIO_OUTPUT -j DNAT --to-destination 10.0.0.1'), { message: /target DNAT is not modelled: -A ISTIO_OUTPUT -j DNAT/ });
  t.throws(bad('-A ISTIO_OUTPUT -j ISTIO_NOWHERE'), {
    message: /unknown target or chain "ISTIO_NOWHERE": -A ISTIO_OUTPUT -j ISTIO_NOWHERE/,
  });
  t.throws(bad('-A ISTIO_OUTPUT --dport 80 -j RETURN'), { message: /--dport needs -m tcp or -m udp in rule/ });
  t.throws(bad('-A ISTIO_OUTPUT -m owner --uid-owner istio-proxy -j RETURN'), { message: /names are not resolved/ });
  t.throws(bad('-A ISTIO_OUTPUT ! -j RETURN'), { message: /"!" before -j is not allowed/ });
  t.throws(bad('-A ISTIO_OUTPUT -d 10.0.0.0/33 -j RETURN'), { message: /not an IPv4 address or CIDR/ });
});

test('other tables are not read, even with options the walk does not know', (t) => {
  const restore = `* mangle\n-A OUTPUT -m whatever --foo -j MARK --set-mark 1\nCOMMIT\n${nat('-A ISTIO_OUTPUT -j ISTIO_REDIRECT')}`;
  t.is(evaluateOutput(restore, app).verdict, 'redirect');
});

test('a jump loop is reported instead of running forever', (t) => {
  const restore = '* nat\n-N A\n-N B\n-A OUTPUT -j A\n-A A -j B\n-A B -j A\nCOMMIT\n';
  t.throws(() => evaluateOutput(restore, app), { message: /nest deeper than/ });
});
