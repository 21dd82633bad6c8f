/**
 * The layers of harness/ (test/helpers/layers.ts): no import runs up them, and no module imports
 * itself back through others. madge reads the imports, type imports included.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import madge from 'madge';
import { layerViolations, LAYERS } from '../helpers/layers.ts';

const HARNESS = resolve(import.meta.dirname, '../../harness');
const graph = madge(HARNESS, { fileExtensions: ['ts'], tsConfig: resolve(HARNESS, '../tsconfig.json') });

test('no import cycle in harness/', async (t) => {
  const g = await graph;
  t.true(Object.keys(g.obj()).length > 80, 'madge read the modules');
  t.deepEqual(g.circular(), []);
});

test('no import runs up the layers, and every folder of harness/ is in one', async (t) => {
  const g = (await graph).obj();
  t.true(Object.keys(g).includes('model/pathTrace.ts'), 'madge read the model');
  t.deepEqual(layerViolations(g), []);
});

test('the layers check fails on an upward import and on a folder in no layer', (t) => {
  const g = { 'model/a.ts': ['core/b.ts', 'lab/c.ts'], 'core/b.ts': [], 'lab/c.ts': ['model/a.ts'], 'extra/d.ts': [] };
  t.deepEqual(layerViolations(g, LAYERS), ['model/a.ts → lab/c.ts (model is below lab)', 'extra/d.ts: folder extra is in no layer']);
});

test('backends keep no rewritten scenario: only the runner and the dry-run make the effective scenario', async (t) => {
  const g = (await graph).obj();
  const users = Object.entries(g)
    .filter(([, deps]) => deps.includes('scenario/addressMapping.ts'))
    .map(([file]) => file)
    .filter((file) => /\b(effectiveScenario|substituteAddresses)\b/.test(readFileSync(resolve(HARNESS, file), 'utf8')));
  t.deepEqual(users.sort(), ['kind/dryRun.ts', 'run/runner.ts']);
});
