/**
 * Every shipped scenario, run whole in the netns lab: it must pass, leave no namespace or process
 * behind, and leave the host's own network namespace exactly as it was.
 */
import test from 'ava';
import { readdirSync } from 'node:fs';
import { rootState, diffRootState, type RootState } from '../../harness/lab/rootState.ts';
import { SCENARIO_DIR } from '../../harness/scenario/load.ts';
import { readScenarioOutcome } from '../../harness/report/evidenceFiles.ts';
import { isRoot, leftoverNamespaces, leftoverProcesses, runInLab, SKIP_REASON } from '../helpers/lab.ts';

const scenarios = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''));
const serial = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log(SKIP_REASON);

let before: RootState;
test.before(async () => {
  if (isRoot) before = await rootState();
});

for (const name of scenarios) {
  serial(`scenario ${name} passes in the lab and leaves nothing behind`, async (t) => {
    const { outcome, output, prefix } = await runInLab(name);
    t.true(outcome.ok, output);
    t.is(outcome.probes.length, outcome.probes.filter((p) => p.ok).length);
    t.deepEqual(leftoverNamespaces(prefix), [], 'lab namespaces left behind');
    t.deepEqual(leftoverProcesses(prefix, outcome.runDir), [], 'lab processes left behind');
    // One shape in memory and on disk: result.json reads back as the outcome the run returned.
    t.deepEqual(readScenarioOutcome(outcome.runDir), JSON.parse(JSON.stringify(outcome)));
    t.true(
      outcome.probes.every((p) => p.checks.some((c) => c.evidence === 'path')),
      "every probe's path prediction was judged",
    );
  });
}

serial('a wrong expectation fails the run with expected, seen and the evidence', async (t) => {
  const { outcome, output, prefix } = await runInLab('test/fixtures/redis-7000-wrong-expectation.yaml');
  t.false(outcome.ok);
  const failing = outcome.probes.filter((p) => !p.ok).map((p) => p.probe.name);
  t.deepEqual(failing, ['nc-7000']);
  t.regex(output, /✘ client received: expected "-NOAUTH Authentication required\.\\r\\n", saw "HTTP\/1\.1 400 Bad Request/);
  t.regex(output, /✘ conntrack legs: expected 2, saw 1: 10\.64\.192\.14:\d+ -> 10\.0\.0\.6:7000, reply from 127\.0\.0\.1:15001/);
  t.regex(output, /│ stats that moved:/);
  t.regex(output, /FAIL redis-7000-wrong-expectation: 1 probes, \d+ checks, 3 failed/);
  t.deepEqual(leftoverNamespaces(prefix), []);
});

serial('the root network namespace is unchanged after all runs', async (t) => {
  t.deepEqual(diffRootState(before, await rootState()), []);
});
