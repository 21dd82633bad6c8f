/**
 * The catalog on a real kind cluster with real Istio. It needs a Docker engine; where there is none
 * (this project's own CI machines) the test is skipped and the reason is printed. Nobody should read
 * a green run here as "the kind backend ran".
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, chmodSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile, SCENARIO_DIR } from '../../harness/scenario/load.ts';
import { runSuite } from '../../harness/run/suite.ts';
import { QuietReporter } from '../../harness/report/console.ts';

function engineProblem(): string | undefined {
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 20_000 });
    return undefined;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return (e.stderr?.toString() || e.message).trim().split('\n')[0];
  }
}

const problem = engineProblem();
if (problem) console.log(`kind backend live test SKIPPED: no Docker engine reachable (${problem}); the kind backend did not run here`);

(problem ? test.skip : test)('the catalog passes on kind with real Istio (legacy-era scenarios skipped with a reason)', async (t) => {
  t.timeout(60 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), 'egress-lab-kind-'));
  chmodSync(dir, 0o755);
  const scenarios = readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => loadScenarioFile(join(SCENARIO_DIR, f)));
  const lines: string[] = [];
  const result = await runSuite(
    {
      scenarios,
      selection: ['*'],
      backend: 'kind',
      cleanup: 'always',
      repeat: 1,
      untilFail: false,
      runDir: dir,
      reportDir: join(dir, 'reports'),
      reporter: new QuietReporter((l) => lines.push(l)),
    },
    {},
  );
  const ran = result.runs.filter((r) => r.status !== 'skipped');
  t.true(ran.length > 0, 'no scenario ran on kind');
  t.deepEqual(
    ran.filter((r) => r.status !== 'passed').map((r) => r.scenario),
    [],
    lines.join('\n'),
  );
  for (const r of result.runs.filter((x) => x.status === 'skipped')) t.regex(r.reason ?? '', /Istio 1\.[4-6]/);
});
