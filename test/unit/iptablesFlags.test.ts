/** istio-iptables' flags as the model reads them: round trips with the injector's args, defaults, forms, lists and errors. */
import test from 'ava';
import { injectionArgs, injectionConfig, renderRestore, type IptablesConfig } from '../../harness/model/iptables.ts';
import type { IstioEra } from '../../harness/scenario/istioVersion.ts';
import { parseIstioIptablesArgs } from '../../harness/model/iptablesFlags.ts';
import { traffic, lines } from '../helpers/iptables.ts';

// ---------------------------------------------------------------------------------------------
// Flag parser

const ROUND_TRIP_CASES: [IstioEra, Record<string, string>][] = [
  ['modern', {}],
  ['legacy', {}],
  ['legacy', traffic({ excludeOutboundIPRanges: '10.0.0.0/24', includeOutboundIPRanges: '10.0.0.0/8', excludeOutboundPorts: '22' })],
  ['modern', traffic({ excludeInboundPorts: '4,5,6', includeOutboundIPRanges: '', includeOutboundPorts: '7000' })],
  [
    'modern',
    {
      ...traffic({ kubevirtInterfaces: 'net1', excludeInterfaces: 'eth1', includeInboundPorts: '80' }),
      'sidecar.istio.io/interceptionMode': 'TPROXY',
    },
  ],
];

for (const [era, annotations] of ROUND_TRIP_CASES) {
  test(`parser round-trips injectionArgs (${era} ${JSON.stringify(annotations)})`, (t) => {
    const cfg = injectionConfig(annotations, era);
    t.deepEqual(parseIstioIptablesArgs(injectionArgs(cfg), era), cfg);
  });
}

test('parser round-trips a hand-made config with non-injector flags', (t) => {
  const cfg: IptablesConfig = { ...injectionConfig({}, 'modern'), proxyGid: ['2000'], inboundTunnelPort: '15009', dropInvalid: true };
  t.deepEqual(parseIstioIptablesArgs(injectionArgs(cfg), 'modern'), cfg);
});

test('parser uses istio-iptables built-in defaults, not the injection ones', (t) => {
  const cfg = parseIstioIptablesArgs([], 'modern');
  t.like(cfg, {
    proxyPort: '15001',
    inboundCapturePort: '15006',
    inboundTunnelPort: '15008',
    interceptionMode: 'REDIRECT',
    inboundPorts: '',
  });
  t.deepEqual(cfg.outboundIpRangesInclude, []);
  t.deepEqual([cfg.proxyUid, cfg.proxyGid], [['1337'], ['1337']]);
  const all = lines(renderRestore(cfg));
  t.false(all.some((line) => line.includes('-j ISTIO_REDIRECT') || line.startsWith('-A PREROUTING')));
});

test('parser accepts long forms, --flag=value, -f=value and empty values', (t) => {
  const cfg = parseIstioIptablesArgs(
    [
      '--envoy-port=15101',
      '--inbound-capture-port',
      '15106',
      '-e=15108',
      '-u',
      '',
      '--proxy-gid=7,8',
      '--istio-service-cidr',
      '*',
      '--istio-service-exclude-cidr=',
      '--istio-inbound-ports=*',
      '--istio-local-exclude-ports',
      '1,,2,',
      '--log_output_level=default:info',
      '--drop-invalid=false',
    ],
    'modern',
  );
  t.like(cfg, { proxyPort: '15101', inboundCapturePort: '15106', inboundTunnelPort: '15108', inboundPorts: '*', dropInvalid: false });
  t.deepEqual([cfg.proxyUid, cfg.proxyGid, cfg.outboundIpRangesInclude], [['1337'], ['7', '8'], ['*']]);
  t.deepEqual([cfg.outboundIpRangesExclude, cfg.inboundPortsExclude], [[], ['1', '2']]);
});

test('parser splits lists on "," without trimming', (t) => {
  t.deepEqual(parseIstioIptablesArgs(['-o', '6000,7000,', '-k', 'eth1, eth2'], 'modern').kubeVirtInterfaces, ['eth1', ' eth2']);
  t.deepEqual(parseIstioIptablesArgs(['-o', '6000,7000,'], 'modern').outboundPortsExclude, ['6000', '7000']);
  t.throws(() => parseIstioIptablesArgs(['-i', '10.0.0.0/8, 10.1.0.0/16'], 'modern'), { message: /-i.* 10\.1\.0\.0\/16/ });
});

test('parser errors name the offending flag', (t) => {
  t.throws(() => parseIstioIptablesArgs(['--bogus', '1'], 'modern'), { message: /--bogus.*accepted flags: -p\/--envoy-port/ });
  t.throws(() => parseIstioIptablesArgs(['-Z'], 'modern'), { message: /-Z/ });
  t.throws(() => parseIstioIptablesArgs(['--redirect-dns'], 'modern'), { message: /--redirect-dns.*not modelled/ });
  t.throws(() => parseIstioIptablesArgs(['-t', '1337'], 'modern'), { message: /-t .*not modelled/ });
  t.throws(() => parseIstioIptablesArgs(['-p'], 'modern'), { message: /-p needs a value/ });
  t.throws(() => parseIstioIptablesArgs(['-m', 'redirect'], 'modern'), { message: /-m/ });
  t.throws(() => parseIstioIptablesArgs(['-q', '80'], 'legacy'), { message: /-q.*legacy/ });
  t.throws(() => parseIstioIptablesArgs(['-i', 'not-a-cidr'], 'modern'), { message: /-i.*not-a-cidr/ });
  t.throws(() => parseIstioIptablesArgs(['stray'], 'modern'), { message: /stray/ });
});

test('iptables: a port out of range is refused, naming the flag', (t) => {
  t.throws(() => parseIstioIptablesArgs(['-p', '99999'], 'modern'), { message: /-p: expected a port from 1 to 65535, got "99999"/ });
  t.throws(() => parseIstioIptablesArgs(['-p', '15001', '-d', '15090,0'], 'modern'), { message: /-d: expected a comma list of ports/ });
});

test("the offline iptables command reads istio-iptables' env-only inputs the way Istio does", (t) => {
  const flags = ['-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020'];
  const rules = (env: Record<string, string>) => renderRestore(parseIstioIptablesArgs(flags, 'modern', env)).split('\n');
  t.true(
    rules({ ISTIO_OUTBOUND_OWNER_GROUPS: '101,102' }).includes(
      '-A ISTIO_OUTPUT -m owner ! --gid-owner 101 -m owner ! --gid-owner 102 -j RETURN',
    ),
  );
  t.true(rules({ ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE: '7' }).includes('-A ISTIO_OUTPUT -m owner --gid-owner 7 -j RETURN'));
  t.true(rules({ ISTIO_OUTBOUND_OWNER_GROUPS: '' }).includes('-A ISTIO_OUTPUT -j RETURN'), 'set but empty: no group is captured');
  t.true(rules({ ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR: '127.0.0.0/8' }).includes('-A ISTIO_OUTPUT -d 127.0.0.0/8 -j RETURN'));
  t.deepEqual(rules({}), renderRestore(parseIstioIptablesArgs(flags, 'modern')).split('\n'));
  t.throws(() => parseIstioIptablesArgs(flags, 'legacy', { ISTIO_OUTBOUND_OWNER_GROUPS: '101' }), {
    message: /owner-group capture .* not modelled for the legacy era/,
  });
});
