/**
 * The model's http_inspector (harness/model/httpInspector.ts) checked against real Envoy's: every
 * input of test/fixtures/httpInspectorCases.ts goes to upstream Envoy (the lab's own part) with
 * an http_inspector listener whose filter chains answer with the ALPN the filter set, and both must
 * agree with the table. Envoy runs in a lab namespace with the run's prefix, inside its cgroup.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { HTTP_INSPECTOR_CASES, type Verdict } from '../fixtures/httpInspectorCases.ts';
import { inspectHttp } from '../../harness/model/httpInspector.ts';
import { RunCgroup } from '../../harness/proc/cgroup.ts';
import { startInNetns } from '../../harness/proc/processes.ts';
import { newRunPrefix } from '../../harness/lab/netnsBackend.ts';
import { inNetns, run } from '../../harness/proc/exec.ts';
import { realParts } from '../../harness/istio/parts.ts';
import { isRoot, SKIP_REASON } from '../helpers/lab.ts';

const REPO = resolve(import.meta.dirname, '../..');
const serial = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log(SKIP_REASON);

const PORT = 19001;
const ANSWERS: Record<string, Verdict> = { H11: 'http/1.1', H10: 'http/1.0', H2C: 'h2c', OTHER: 'not-http', '': 'need-more' };

function answer(text: string) {
  return {
    name: 'envoy.filters.network.direct_response',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.direct_response.v3.Config',
      response: { inline_string: `${text}\n` },
    },
  };
}

/** One listener, http_inspector, a chain per ALPN the filter can set, and a default chain. */
function envoyConfig(): string {
  const chain = (alpn: string | undefined, text: string) => ({
    ...(alpn ? { filter_chain_match: { application_protocols: [alpn] } } : {}),
    filters: [answer(text)],
  });
  return stringify({
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 19000 } } },
    static_resources: {
      listeners: [
        {
          name: 'inspector',
          address: { socket_address: { address: '127.0.0.1', port_value: PORT } },
          listener_filters: [
            {
              name: 'envoy.filters.listener.http_inspector',
              typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' },
            },
          ],
          filter_chains: [chain('http/1.1', 'H11'), chain('http/1.0', 'H10'), chain('h2c', 'H2C'), chain(undefined, 'OTHER')],
        },
      ],
    },
  });
}

serial('the model and real Envoy agree with the http_inspector table', async (t) => {
  const parts = realParts();
  const prefix = newRunPrefix();
  const ns = `${prefix}-pod-inspector`;
  const dir = mkdtempSync(join(tmpdir(), 'egress-lab-inspector-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'envoy.yaml'), envoyConfig());
  const cgroup = RunCgroup.create(prefix);
  await run('ip', ['netns', 'add', ns]);
  try {
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await startInNetns({
      name: 'envoy with http_inspector',
      ns,
      cgroup,
      argv: [parts.envoy, '-c', join(dir, 'envoy.yaml'), '-l', 'error', '--disable-hot-restart'],
      logFile: join(dir, 'envoy.log'),
      ready: async () => (await inNetns(ns, 'curl', ['-s', 'http://127.0.0.1:19000/ready'])).trim() === 'LIVE',
    });
    const inputs = HTTP_INSPECTOR_CASES.map((c) => c.input);
    const out = await inNetns(ns, process.execPath, ['--import', 'tsx', join(REPO, 'test/helpers/inspectorClient.ts'), String(PORT)], {
      input: JSON.stringify(inputs),
    });
    const answers = JSON.parse(out) as string[];
    HTTP_INSPECTOR_CASES.forEach((c, i) => {
      const real = ANSWERS[answers[i]!];
      t.is(real, c.verdict, `real Envoy on ${JSON.stringify(c.input)} (${c.why}): answered ${JSON.stringify(answers[i])}`);
      t.is(inspectHttp(Buffer.from(c.input, 'latin1')), c.verdict, `the model on ${JSON.stringify(c.input)}`);
    });
  } finally {
    await cgroup.destroy();
    execFileSync('ip', ['netns', 'del', ns]);
  }
});
