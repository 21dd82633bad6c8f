/** The kind backend's scenario commands: teardown and the clean-up before apply wait until the namespaces are gone. */
import test from 'ava';
import { renderCommand } from '../../harness/kind/plan.ts';
import { deleteScenario } from '../../harness/kind/commands.ts';

test("teardown and the clean-up before apply wait until the scenario's namespaces are gone", (t) => {
  const cmds = deleteScenario('redis-7000-modern', 'remove').map(renderCommand);
  t.true(
    cmds.every((c) => c.includes('--wait=true') && c.includes('--timeout=180s') && c.includes('--ignore-not-found')),
    cmds.join('\n'),
  );
  t.false(cmds.some((c) => c.includes('--wait=false')));
  t.regex(cmds[1]!, /delete namespace -l egress-lab\.io\/scenario=redis-7000-modern/);
});
