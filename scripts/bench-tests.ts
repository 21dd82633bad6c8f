/**
 * The wall time of each test tier, as `npm test` runs them (lint, unit, tools, lab), one after the
 * other on this machine:
 *   npm run bench:tests [-- lint unit tools lab]
 * Timing targets (the pure tier within a minute, `npm test` within six on two cores) are checked
 * here, not in the tests, which must not depend on machine speed.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

const TIERS = { lint: 'lint', unit: 'test:unit', tools: 'test:tools', lab: 'test:lab' } as const;
type Tier = keyof typeof TIERS;

const asked = process.argv.slice(2);
const unknown = asked.filter((a) => !(a in TIERS));
if (unknown.length) {
  console.error(`bench-tests: unknown tier ${unknown.join(', ')}; expected ${Object.keys(TIERS).join(', ')}`);
  process.exit(2);
}
const tiers = (asked.length ? asked : Object.keys(TIERS)) as Tier[];

const rows: Array<[string, string, string]> = [];
let total = 0;
for (const tier of tiers) {
  process.stderr.write(`bench-tests: npm run ${TIERS[tier]}...\n`);
  const started = Date.now();
  const r = spawnSync('npm', ['run', '-s', TIERS[tier]], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const seconds = (Date.now() - started) / 1000;
  total += seconds;
  const summary = /(\d+ tests? passed.*)$/m.exec(r.stdout + r.stderr)?.[1] ?? (r.status === 0 ? 'ok' : 'failed');
  rows.push([tier, `${seconds.toFixed(0)} s`, r.status === 0 ? summary : `FAILED (exit ${r.status}): ${summary}`]);
}
console.log(`test tiers on ${availableParallelism()} cores:`);
for (const [tier, time, what] of rows) console.log(`  ${tier.padEnd(6)} ${time.padStart(6)}  ${what}`);
console.log(`  ${'total'.padEnd(6)} ${`${total.toFixed(0)} s`.padStart(6)}`);
process.exit(rows.some((r) => r[2].startsWith('FAILED')) ? 1 : 0);
