/**
 * Measures how long scenarios take in the lab, per phase, over several runs:
 *   npm run bench [-- --runs N] [scenario...]
 * Timing targets live here rather than in the tests, which must not depend on machine speed.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, chmodSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile, SCENARIO_DIR } from '../harness/scenario/load.ts';
import { NetnsBackend, newRunPrefix } from '../harness/lab/netnsBackend.ts';
import { ConsoleReporter } from '../harness/run/report.ts';
import { runScenario, type ScenarioOutcome } from '../harness/run/runner.ts';

const { values, positionals } = parseArgs({ options: { runs: { type: 'string', default: '3' } }, allowPositionals: true });
const names = positionals.length ? positionals : readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5));
const runs = Number(values.runs);
const dir = mkdtempSync(join(tmpdir(), 'egress-lab-bench-'));
chmodSync(dir, 0o755);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const quiet = new ConsoleReporter(() => undefined);

console.log(`scenario                              runs  total   up      probes  down   (median ms)`);
for (const name of names) {
  const loaded = loadScenarioFile(name);
  const samples: ScenarioOutcome[] = [];
  for (let i = 0; i < runs; i++) {
    const prefix = newRunPrefix();
    const runDir = join(dir, `${name}-${prefix}`);
    const o = await runScenario(loaded, new NetnsBackend(loaded, runDir, prefix), { cleanup: 'always', runDir, reporter: quiet });
    if (!o.ok) throw new Error(`${name} failed during the benchmark; see ${runDir}`);
    samples.push(o);
  }
  const col = (f: (o: ScenarioOutcome) => number) => String(median(samples.map(f))).padEnd(8);
  console.log(`${name.padEnd(38)}${String(runs).padEnd(6)}${col((o) => o.durationMs)}${col((o) => o.timings.upMs)}${col((o) => o.timings.probesMs)}${col((o) => o.timings.downMs)}`);
}
