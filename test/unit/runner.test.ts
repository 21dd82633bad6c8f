/** The runner with a backend that maps addresses like kind: it probes, judges and reports the effective scenario. */
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import { runScenario } from '../../harness/run/runner.ts';
import { ConsoleReporter } from '../../harness/report/console.ts';
import type { Backend } from '../../harness/backend/backend.ts';
import type { ProbeSpec } from '../../harness/probes/registry.ts';
import type { Scenario } from '../../harness/scenario/schema.ts';
import { parseConntrack, type ConntrackEntry } from '../../harness/evidence/conntrack.ts';
import { KIND_ADDRESSES } from '../helpers/kindAddresses.ts';

/** A backend that maps like kind and records what the runner hands it: a stand-in for the cluster, the runner is what is tested. */
class MappingBackend implements Backend {
  readonly name = 'kind';
  specs: ProbeSpec[] = [];
  settled?: Scenario;
  collected?: Scenario;
  private port = 40000;
  private table: ConntrackEntry[] = [];
  up() {
    return Promise.resolve(KIND_ADDRESSES.filter((m) => m.what === 'external server'));
  }
  deploy() {
    return Promise.resolve(KIND_ADDRESSES.filter((m) => m.what === 'pod'));
  }
  settle(s: Scenario) {
    this.settled = s;
    return Promise.resolve();
  }
  probe(_w: string, spec: ProbeSpec) {
    this.specs.push(spec);
    const port = ++this.port;
    const host = 'host' in spec ? spec.host : '';
    this.table = [
      ...this.table,
      ...parseConntrack(
        `tcp 6 10 TIME_WAIT src=10.244.0.7 dst=${host} sport=${port} dport=7000 src=127.0.0.1 dst=10.244.0.7 sport=15001 dport=${port} [ASSURED] mark=0 use=1`,
      ),
    ];
    return Promise.resolve({
      kind: spec.kind,
      target: host,
      address: host,
      localPort: port,
      connect: 'ok' as const,
      received: '',
      receivedBytes: 0,
      end: 'eof' as const,
      errorClass: 'eof',
      durationMs: 1,
    });
  }
  conntrack() {
    return Promise.resolve(this.table);
  }
  iptablesSave() {
    return Promise.resolve('');
  }
  stats() {
    return Promise.resolve(undefined);
  }
  collectArtifacts(s: Scenario) {
    this.collected = s;
    return Promise.resolve();
  }
  keepInstructions() {
    return [];
  }
  async down() {}
}

test('the runner probes, judges and reports the effective scenario; the backend is handed it, never keeps one', async (t) => {
  const runDir = mkdtempSync(join(tmpdir(), 'egress-lab-mapping-'));
  const backend = new MappingBackend();
  const lines: string[] = [];
  const outcome = await runScenario(loadScenarioFile('redis-7000-modern'), backend, {
    cleanup: 'always',
    runDir,
    reporter: new ConsoleReporter((l) => lines.push(l)),
  });
  t.true(backend.specs.length > 0);
  t.true(
    backend.specs.every((s) => 'host' in s && s.host === '172.18.0.5'),
    JSON.stringify(backend.specs),
  );
  t.is(backend.settled?.workloads[0]!.ip, '10.244.0.7');
  t.is(backend.collected?.externalServers[0]!.addresses[0], '172.18.0.5');
  // The probe's own conntrack leg is found by the pod IP kind assigned and the port the probe reported.
  t.true(
    outcome.probes.every((p) => p.legs?.client?.original.src === '10.244.0.7'),
    JSON.stringify(outcome.probes.map((p) => p.legs)),
  );
  t.deepEqual(outcome.addresses, KIND_ADDRESSES);
  t.true(
    lines.some((l) => l.includes('external server redis-cluster: 10.0.0.6 -> 172.18.0.5')),
    lines.join('\n'),
  );
  const upstream = outcome.probes.flatMap((p) => p.checks).find((c) => c.what.includes('upstream'));
  if (upstream) t.notRegex(upstream.expected, /10\.0\.0\.6/);
});
