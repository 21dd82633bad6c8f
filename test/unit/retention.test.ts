import test from 'ava';
import { parseAge, prunable } from '../../harness/run/retention.ts';
import { reportDirFor } from '../../harness/run/suite.ts';

const DAY = 86_400_000;
const now = Date.parse('2026-12-02T12:00:00Z');
const entries = [
  { name: '20261201-010000-redis-7000-egl-aaaaaa', mtimeMs: now - 1 * DAY },
  { name: '20261120-010000-suite-bbbbbb', mtimeMs: now - 12 * DAY },
  { name: '20261101-010000-mysql-http-port-hang-egl-cccccc', mtimeMs: now - 31 * DAY },
  { name: '.cache', mtimeMs: now - 60 * DAY },
  { name: 'notes.txt', mtimeMs: now - 60 * DAY },
];

test('parseAge: s, m, h, d; anything else is refused with what is expected', (t) => {
  t.is(parseAge('7d'), 7 * DAY);
  t.is(parseAge('12h'), 12 * 3_600_000);
  t.is(parseAge('30m'), 1_800_000);
  t.throws(() => parseAge('7 days'), { message: /expected an age like 7d/ });
});

test('prunable: older than an age, or beyond the newest N; only what the lab wrote', (t) => {
  t.deepEqual(prunable(entries, { olderThanMs: 7 * DAY, now, live: [] }), [
    '20261120-010000-suite-bbbbbb',
    '20261101-010000-mysql-http-port-hang-egl-cccccc',
  ]);
  t.deepEqual(prunable(entries, { keep: 1, now, live: [] }), [
    '20261120-010000-suite-bbbbbb',
    '20261101-010000-mysql-http-port-hang-egl-cccccc',
  ]);
  t.deepEqual(prunable(entries, { keep: 5, now, live: [] }), []);
});

test('prunable: a run whose lab is still up (kept) is never removed', (t) => {
  t.deepEqual(prunable(entries, { olderThanMs: 7 * DAY, now, live: ['egl-cccccc'] }), ['20261120-010000-suite-bbbbbb']);
});

test('reportDirFor: two suites started in the same second get different folders', (t) => {
  const a = reportDirFor('/runs');
  const b = reportDirFor('/runs');
  t.not(a, b);
  t.regex(a, /^\/runs\/\d{8}-\d{6}-suite-[0-9a-f]{6}$/);
});
