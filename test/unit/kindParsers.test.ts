import test from 'ava';
import { readFileSync } from 'node:fs';
import { parseCrictlPods, parseInspectpPid, parseKindGetClusters, pickIptablesSave, pickPod } from '../../harness/kind/parsers.ts';

const fixture = (f: string): string => readFileSync(new URL(`../fixtures/kind/${f}`, import.meta.url), 'utf8');

test('crictl pods -q: one sandbox id per line; nothing when no pod matches', (t) => {
  const a = '3f4e8d0c5b2a41e6a9d7c1b0f8e2d3c4b5a69788e7f6d5c4b3a2918273645566';
  const b = '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';
  t.deepEqual(parseCrictlPods(`${a}\n${b}\n`), [a, b]);
  t.deepEqual(parseCrictlPods(''), []);
  t.deepEqual(parseCrictlPods('\n'), []);
  t.deepEqual(parseCrictlPods(`time="2026-08-22T10:15:00Z" level=warning msg="runtime connect using default endpoints"\n${a}\n`), [a]);
});

test('crictl inspectp: .info.pid from a real-shaped sandbox JSON, as text or parsed', (t) => {
  const text = fixture('crictl-inspectp.json');
  t.is(parseInspectpPid(text), 48213);
  t.is(parseInspectpPid(JSON.parse(text)), 48213);
});

test('crictl inspectp: no info, pid 0 (sandbox not running) or not JSON throw with what was seen', (t) => {
  const doc = JSON.parse(fixture('crictl-inspectp.json')) as { status: Record<string, unknown>; info: Record<string, unknown> };
  t.throws(() => parseInspectpPid({ status: doc.status }), { message: /no "info" object/ });
  t.throws(() => parseInspectpPid({ ...doc, status: { ...doc.status, state: 'SANDBOX_NOTREADY' }, info: { ...doc.info, pid: 0 } }), {
    message: /\.info\.pid is 0.*SANDBOX_NOTREADY/,
  });
  t.throws(() => parseInspectpPid({ info: { pid: '48213' } }), { message: /not an integer/ });
  t.throws(() => parseInspectpPid('E0822 10:15:00 remote_runtime.go: "ContainerStatus from runtime service failed"'), {
    message: /not JSON/,
  });
});

test('kind get clusters: names on stdout; "No kind clusters found." on stderr means none', (t) => {
  t.deepEqual(parseKindGetClusters('egress-lab\nistio-testing\n'), ['egress-lab', 'istio-testing']);
  t.deepEqual(parseKindGetClusters('', 'No kind clusters found.\n'), []);
  t.deepEqual(parseKindGetClusters('No kind clusters found.\n'), [], 'streams merged with 2>&1');
  t.deepEqual(parseKindGetClusters('egress-lab\n', 'enabling experimental podman provider\n'), ['egress-lab']);
  t.throws(() => parseKindGetClusters('ERROR: failed to list clusters: command "docker ps" failed\n'), { message: /not a cluster name/ });
});

test('the pod is the running one, not the terminating one of the previous run', (t) => {
  const pod = (name: string, phase: string, deleting = false) => ({
    metadata: { name, ...(deleting ? { deletionTimestamp: '2026-12-03T00:00:00Z' } : {}) },
    status: { phase, podIP: `10.244.0.${name.length}` },
  });
  const list = { kind: 'List', items: [pod('sleep-old', 'Running', true), pod('sleep-new-1', 'Running')] };
  t.deepEqual(pickPod(JSON.stringify(list), 'sleep'), { name: 'sleep-new-1', ip: '10.244.0.11' });
  t.throws(() => pickPod({ items: [pod('a', 'Pending')] }, 'sleep'), {
    message: /expected one running pod of sleep, found 0: a \(Pending\)/,
  });
  t.throws(() => pickPod({ items: [pod('a', 'Running'), pod('b', 'Running')] }, 'sleep'), { message: /found 2/ });
});

test('iptables: the back end istio-init wrote with is the one read', (t) => {
  const istio = '*nat\n:ISTIO_OUTPUT - [0:0]\n-A OUTPUT -p tcp -j ISTIO_OUTPUT\nCOMMIT\n';
  const kube = '*nat\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n-A OUTPUT -j KUBE-SERVICES\nCOMMIT\n';
  t.is(pickIptablesSave(kube, istio).backend, 'legacy');
  t.is(pickIptablesSave(istio, '').backend, 'nft');
  t.is(pickIptablesSave('', kube).text, kube);
});
