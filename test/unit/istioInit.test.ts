/** What istio-init is given for a pod's annotations, and the restore text read back from its log. */
import test from 'ava';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import { istioInitArgs, restoreInputFromLog } from '../../harness/istio/istioInit.ts';

test("istio-init's args are the injector's for the pod's annotations", (t) => {
  const w = loadScenarioFile('redis-7000-fix-exclude-ip-ranges').scenario.workloads[0]!;
  t.deepEqual(istioInitArgs(w), [
    'istio-iptables',
    '-p',
    '15001',
    '-z',
    '15006',
    '-u',
    '1337',
    '-m',
    'REDIRECT',
    '-i',
    '*',
    '-x',
    '10.0.0.0/24',
    '-b',
    '*',
    '-d',
    '15090,15021,15020',
    '--log_output_level=default:info',
  ]);
});

test('restoreInputFromLog: the restore text istio-iptables logs, and nothing when it logged none', (t) => {
  const log = [
    '2026-12-02T16:32:04.115935Z\tinfo\tRunning iptables restore with: iptables-restore and the following input:',
    '* nat',
    '-N ISTIO_OUTPUT',
    '-A OUTPUT -j ISTIO_OUTPUT',
    'COMMIT',
    '2026-12-02T16:32:04.116033Z\tinfo\tFinal iptables state (IPv4):',
  ].join('\n');
  t.is(restoreInputFromLog(log), '* nat\n-N ISTIO_OUTPUT\n-A OUTPUT -j ISTIO_OUTPUT\nCOMMIT\n');
  t.is(restoreInputFromLog('nothing here'), '');
});
