/**
 * The layers of harness/: the model depends on nothing above it (it is pure and tested with plain
 * data), and no module imports itself back through others. madge reads the imports, type imports included.
 */
import test from 'ava';
import { resolve } from 'node:path';
import madge from 'madge';

const HARNESS = resolve(import.meta.dirname, '../../harness');
const graph = madge(HARNESS, { fileExtensions: ['ts'], tsConfig: resolve(HARNESS, '../tsconfig.json') });

test('no import cycle in harness/', async (t) => {
  const g = await graph;
  t.true(Object.keys(g.obj()).length > 80, 'madge read the modules');
  t.deepEqual(g.circular(), []);
});

test('harness/model imports nothing from sidecar, views, lab, kind, run or report', async (t) => {
  const g = (await graph).obj();
  const above = /^(sidecar|views|lab|kind|run|report)\//;
  const offending = Object.entries(g)
    .filter(([file]) => file.startsWith('model/'))
    .flatMap(([file, deps]) => deps.filter((d) => above.test(d)).map((d) => `${file} → ${d}`));
  t.true(Object.keys(g).some((f) => f === 'model/pathTrace.ts'));
  t.deepEqual(offending, []);
});

test('backends keep no rewritten scenario: only the runner and the dry-run make the effective scenario', async (t) => {
  const { readFileSync } = await import('node:fs');
  const g = (await graph).obj();
  const users = Object.entries(g)
    .filter(([, deps]) => deps.includes('scenario/addressMapping.ts'))
    .map(([file]) => file)
    .filter((file) => /\b(effectiveScenario|substituteAddresses)\b/.test(readFileSync(resolve(HARNESS, file), 'utf8')));
  t.deepEqual(users.sort(), ['kind/dryRun.ts', 'run/runner.ts']);
});
