import test from 'ava';
import { selectScenarios } from '../../harness/run/select.ts';

const all = [
  { name: 'redis-7000', tags: ['seed-000', 'incident'] },
  { name: 'redis-7000-modern', tags: ['seed-000', 'modern'] },
  { name: 'redis-7000-fix-serviceentry', tags: ['seed-000', 'fix'] },
  { name: 'registry-only-http', tags: ['seed-003', 'registry-only', 'incident'] },
  { name: 'registry-only-fix-allow-any', tags: ['seed-003', 'registry-only', 'fix'] },
];
const names = (patterns: string[], tags: string[] = []) => selectScenarios(all, { patterns, tags }).map((s) => s.name);

test('no patterns and no tags select everything', (t) => {
  t.is(names([]).length, all.length);
});

test('an exact name selects only that scenario, not the ones it prefixes', (t) => {
  t.deepEqual(names(['redis-7000']), ['redis-7000']);
});

test('a regex selects every match; ! excludes', (t) => {
  t.deepEqual(names(['^redis-7000-']), ['redis-7000-modern', 'redis-7000-fix-serviceentry']);
  t.deepEqual(names(['redis', '!fix']), ['redis-7000', 'redis-7000-modern']);
  t.deepEqual(names(['!registry']), ['redis-7000', 'redis-7000-modern', 'redis-7000-fix-serviceentry']);
});

test('tags include by any match and exclude with !', (t) => {
  t.deepEqual(names([], ['fix']), ['redis-7000-fix-serviceentry', 'registry-only-fix-allow-any']);
  t.deepEqual(names([], ['registry-only', '!fix']), ['registry-only-http']);
  t.deepEqual(names(['redis'], ['incident']), ['redis-7000']);
});

test('a pattern that matches nothing is an error naming it', (t) => {
  t.throws(() => names(['mongo']), { message: /no scenario matches "mongo"/ });
});

test('an invalid regex is reported as such', (t) => {
  t.throws(() => names(['redis[']), { message: /neither a scenario name nor a valid regular expression/ });
});
