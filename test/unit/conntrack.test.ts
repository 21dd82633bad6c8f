import test from 'ava';
import {
  describeLeg,
  legsOfProbe,
  newEntries,
  parseConntrack,
  redirectPort,
  type ConntrackEntry,
} from '../../harness/evidence/conntrack.ts';

// Seed 000, `grep 700[03] /proc/net/nf_conntrack` inside the pod.
const SEED_7000 =
  'ipv4     2 tcp      6 110 TIME_WAIT src=10.64.192.14 dst=10.0.0.6 sport=50498 dport=7000 src=127.0.0.1 dst=10.64.192.14 sport=15001 dport=50498 [ASSURED] mark=0 zone=0 use=2';
const SEED_7003_CLIENT =
  'ipv4     2 tcp      6 104 TIME_WAIT src=10.64.192.14 dst=10.0.0.6 sport=38952 dport=7003 src=127.0.0.1 dst=10.64.192.14 sport=15001 dport=38952 [ASSURED] mark=0 zone=0 use=2';
const SEED_7003_UPSTREAM =
  'ipv4     2 tcp      6 104 TIME_WAIT src=10.64.192.14 dst=10.0.0.6 sport=38954 dport=7003 src=10.0.0.6 dst=10.64.192.14 sport=7003 dport=38954 [ASSURED] mark=0 zone=0 use=2';
const SEED = [SEED_7000, SEED_7003_CLIENT, SEED_7003_UPSTREAM].join('\n');

// Captured with conntrack v1.4.7 in a scratch namespace (REDIRECT 7000 -> 15001, a DROPped port, udp, icmp).
const CONNTRACK_L = `tcp      6 431999 ESTABLISHED src=127.0.0.1 dst=127.0.0.1 sport=44378 dport=7003 src=127.0.0.1 dst=127.0.0.1 sport=7003 dport=44378 [ASSURED] mark=0 use=1
tcp      6 119 TIME_WAIT src=127.0.0.1 dst=127.0.0.2 sport=57818 dport=7000 src=127.0.0.1 dst=127.0.0.1 sport=15001 dport=57818 [ASSURED] mark=0 use=1
udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=38462 dport=53 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=53 dport=38462 mark=0 use=1
icmp     1 29 src=127.0.0.1 dst=127.0.0.1 type=8 code=0 id=4660 src=127.0.0.1 dst=127.0.0.1 type=0 code=0 id=4660 mark=0 use=1
tcp      6 119 SYN_SENT src=127.0.0.1 dst=127.0.0.1 sport=53952 dport=81 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=81 dport=53952 mark=0 use=1
conntrack v1.4.7 (conntrack-tools): 5 flow entries have been shown.
`;

function only(text: string): ConntrackEntry {
  const [e, ...rest] = parseConntrack(text);
  if (!e || rest.length > 0) throw new Error(`expected exactly one entry from ${text}`);
  return e;
}

test('parses the seed /proc/net/nf_conntrack lines', (t) => {
  const entries = parseConntrack(SEED);
  t.is(entries.length, 3);
  const [e] = entries;
  t.deepEqual(e, {
    protocol: 'tcp',
    timeout: 110,
    state: 'TIME_WAIT',
    original: { src: '10.64.192.14', dst: '10.0.0.6', sport: 50498, dport: 7000 },
    reply: { src: '127.0.0.1', dst: '10.64.192.14', sport: 15001, dport: 50498 },
    flags: ['ASSURED'],
    mark: 0,
    zone: 0,
    raw: SEED_7000,
  });
  t.deepEqual(entries[2]?.reply, { src: '10.0.0.6', dst: '10.64.192.14', sport: 7003, dport: 38954 });
});

test('parses conntrack -L output and skips the summary line', (t) => {
  const entries = parseConntrack(CONNTRACK_L);
  t.deepEqual(
    entries.map((e) => [e.protocol, e.state, e.flags]),
    [
      ['tcp', 'ESTABLISHED', ['ASSURED']],
      ['tcp', 'TIME_WAIT', ['ASSURED']],
      ['udp', undefined, ['UNREPLIED']],
      ['icmp', undefined, []],
      ['tcp', 'SYN_SENT', ['UNREPLIED']],
    ],
  );
  t.is(entries[0]?.timeout, 431999);
  t.is(entries[0]?.zone, undefined, 'conntrack -L omits zone=0');
  t.is(entries[0]?.mark, 0);
});

test('udp: UNREPLIED between the tuples does not split them wrongly', (t) => {
  const udp = parseConntrack(CONNTRACK_L).find((e) => e.protocol === 'udp');
  t.deepEqual(udp?.original, { src: '127.0.0.1', dst: '127.0.0.1', sport: 38462, dport: 53 });
  t.deepEqual(udp?.reply, { src: '127.0.0.1', dst: '127.0.0.1', sport: 53, dport: 38462 });
});

test('icmp keeps addresses with ports recorded as 0', (t) => {
  const icmp = parseConntrack(CONNTRACK_L).find((e) => e.protocol === 'icmp');
  t.deepEqual(icmp?.original, { src: '127.0.0.1', dst: '127.0.0.1', sport: 0, dport: 0 });
});

test('ignores blank and garbage lines, and tcp lines missing ports', (t) => {
  const text = [
    '',
    '   ',
    'garbage here',
    'tcp 6 x TIME_WAIT src=1.1.1.1',
    'tcp      6 10 CLOSE src=1.1.1.1 dst=2.2.2.2 src=2.2.2.2 dst=1.1.1.1 mark=0 use=1',
    SEED_7000,
  ].join('\n');
  t.is(parseConntrack(text).length, 1);
  t.deepEqual(parseConntrack(''), []);
});

test('parses -o extended, nonzero mark/zone and timestamp brackets', (t) => {
  const e = only(
    'ipv4     2 tcp      6 300 ESTABLISHED src=10.1.0.5 dst=93.184.215.14 sport=40000 dport=443 src=93.184.215.14 dst=10.1.0.5 sport=443 dport=40000 [ASSURED] [start=Mon Nov 23 10:00:00 2026] mark=1337 zone=4 use=1',
  );
  t.is(e.mark, 1337);
  t.is(e.zone, 4);
  t.deepEqual(e.flags, ['ASSURED']);
});

test('newEntries keys on protocol + original tuple, ignoring state changes', (t) => {
  const before = parseConntrack(SEED_7000.replace('TIME_WAIT', 'ESTABLISHED'));
  const after = parseConntrack(SEED);
  t.deepEqual(
    newEntries(before, after).map((e) => e.original.sport),
    [38952, 38954],
  );
  t.deepEqual(newEntries(after, after), []);
  t.is(newEntries([], after).length, 3);
});

test('newEntries: same tuple, different protocol is new', (t) => {
  const tcp = only('tcp      6 10 CLOSE src=1.1.1.1 dst=2.2.2.2 sport=5 dport=53 src=2.2.2.2 dst=1.1.1.1 sport=53 dport=5 mark=0 use=1');
  const udp = only('udp      17 10 src=1.1.1.1 dst=2.2.2.2 sport=5 dport=53 src=2.2.2.2 dst=1.1.1.1 sport=53 dport=5 mark=0 use=1');
  t.deepEqual(newEntries([tcp], [tcp, udp]), [udp]);
});

test('legsOfProbe: seed 7000 shape, only the redirected client leg', (t) => {
  const legs = legsOfProbe(parseConntrack(SEED_7000), '10.64.192.14', 50498);
  t.is(legs.client?.original.dport, 7000);
  t.deepEqual(legs.others, []);
  t.is(redirectPort(legs.client!), 15001);
});

test('legsOfProbe: seed 7003 shape, client leg plus a direct upstream leg', (t) => {
  const fresh = parseConntrack([SEED_7003_CLIENT, SEED_7003_UPSTREAM].join('\n'));
  const legs = legsOfProbe(fresh, '10.64.192.14', 38952);
  t.is(legs.client?.original.sport, 38952);
  t.is(legs.others.length, 1);
  t.is(legs.others[0]?.original.sport, 38954);
  t.is(redirectPort(legs.others[0]!), undefined);
});

test("legsOfProbe: the kubelet's readiness probes into the pod (15021, 15020, the app) are not legs of a probe", (t) => {
  // kind: the node (10.244.0.1) polls the sidecar's readiness port while the probe runs.
  const kubelet =
    'tcp      6 118 TIME_WAIT src=10.244.0.1 dst=10.64.192.14 sport=51234 dport=15021 src=10.64.192.14 dst=10.244.0.1 sport=15021 dport=51234 [ASSURED] mark=0 use=1';
  const app =
    'tcp      6 118 TIME_WAIT src=10.244.0.1 dst=10.64.192.14 sport=51236 dport=80 src=127.0.0.1 dst=10.244.0.1 sport=15006 dport=51236 [ASSURED] mark=0 use=1';
  const fresh = parseConntrack([SEED_7003_CLIENT, SEED_7003_UPSTREAM, kubelet, app].join('\n'));
  const legs = legsOfProbe(fresh, '10.64.192.14', 38952);
  t.is(legs.client?.original.sport, 38952);
  t.deepEqual(
    legs.others.map((e) => e.original.sport),
    [38954],
  );
});

test('legsOfProbe: drops loopback-only and non-tcp entries from others; client may be missing', (t) => {
  const fresh = parseConntrack([SEED_7003_UPSTREAM, CONNTRACK_L].join('\n'));
  const legs = legsOfProbe(fresh, '10.64.192.14', 11111);
  t.is(legs.client, undefined);
  t.false('client' in legs);
  t.deepEqual(
    legs.others.map((e) => e.original.sport),
    [38954],
  );
});

test('redirectPort: loopback reply that differs from the dialled endpoint', (t) => {
  const [established, timeWait] = parseConntrack(CONNTRACK_L);
  t.is(redirectPort(established!), undefined, 'dialled 127.0.0.1:7003 and it answered: not redirected');
  t.is(redirectPort(timeWait!), 15001, 'dialled 127.0.0.2:7000, answered by 127.0.0.1:15001');
  const samePortOnly = only(
    'tcp      6 10 TIME_WAIT src=127.0.0.1 dst=127.0.0.1 sport=5000 dport=7000 src=127.0.0.1 dst=127.0.0.1 sport=15001 dport=5000 [ASSURED] mark=0 use=1',
  );
  t.is(redirectPort(samePortOnly), 15001, 'same address, different port is still a REDIRECT');
  const dnat = only(
    'tcp      6 10 TIME_WAIT src=10.1.0.5 dst=10.96.0.10 sport=5000 dport=6379 src=10.1.0.9 dst=10.1.0.5 sport=6379 dport=5000 [ASSURED] mark=0 use=1',
  );
  t.is(redirectPort(dnat), undefined, 'DNAT to a non-loopback address is not a sidecar redirect');
});

test('describeLeg: redirected, direct, translated and unreplied legs', (t) => {
  const [redirected, client7003, direct] = parseConntrack(SEED);
  t.is(describeLeg(redirected!), '10.64.192.14:50498 -> 10.0.0.6:7000, reply from 127.0.0.1:15001 (redirected to 15001) TIME_WAIT');
  t.is(describeLeg(client7003!), '10.64.192.14:38952 -> 10.0.0.6:7003, reply from 127.0.0.1:15001 (redirected to 15001) TIME_WAIT');
  t.is(describeLeg(direct!), '10.64.192.14:38954 -> 10.0.0.6:7003, reply from 10.0.0.6:7003 (direct) TIME_WAIT');
  const dnat = only(
    'tcp      6 10 ESTABLISHED src=10.1.0.5 dst=10.96.0.10 sport=5000 dport=6379 src=10.1.0.9 dst=10.1.0.5 sport=6379 dport=5000 [ASSURED] mark=0 use=1',
  );
  t.is(describeLeg(dnat), '10.1.0.5:5000 -> 10.96.0.10:6379, reply from 10.1.0.9:6379 (translated to 10.1.0.9:6379) ESTABLISHED');
  const entries = parseConntrack(CONNTRACK_L);
  t.is(describeLeg(entries[4]!), '127.0.0.1:53952 -> 127.0.0.1:81, reply from 127.0.0.1:81 (direct) SYN_SENT UNREPLIED');
  t.is(describeLeg(entries[2]!), 'udp 127.0.0.1:38462 -> 127.0.0.1:53, reply from 127.0.0.1:53 (direct) UNREPLIED');
});
