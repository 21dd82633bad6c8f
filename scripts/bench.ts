/**
 * Measures how long scenarios take in the lab, per phase, over several runs, on the real sidecar
 * and on the model:
 *   npm run bench [-- --runs N] [--sidecar envoy|model|both] [scenario...]
 * and how long the whole catalog takes, one scenario at a time and side by side:
 *   npm run bench -- --catalog [--jobs 1,2,4]
 * Phases: lab up (within it: control plane ready, servers ready, sidecars ready = istio-init and
 * pilot-agent/Envoy ready on 15021, config landed = the gate), probes, teardown. Timing targets live
 * here rather than in the tests, which must not depend on machine speed.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, chmodSync, readdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile, SCENARIO_DIR } from '../harness/scenario/load.ts';
import { NetnsBackend, newRunPrefix } from '../harness/lab/netnsBackend.ts';
import { ConsoleReporter } from '../harness/report/console.ts';
import { runScenario, type ScenarioOutcome } from '../harness/run/runner.ts';
import { enginesFor, type SidecarChoice } from '../harness/run/engines.ts';
import type { SidecarEngine } from '../harness/lab/sidecars.ts';
import { runSuite } from '../harness/run/suite.ts';
import { QuietReporter } from '../harness/report/console.ts';
import { RunDirectoryEvidence } from '../harness/report/evidenceFiles.ts';

/** The whole catalog as `npm run scenarios -- --jobs N` runs it, wall time per N. */
async function catalogWallTimes(): Promise<void> {
  const all = readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => loadScenarioFile(f.slice(0, -5)));
  for (const jobs of [...new Set(values.jobs.split(',').map(Number))]) {
    const started = Date.now();
    const r = await runSuite(
      {
        scenarios: all,
        selection: ['bench'],
        cleanup: 'always',
        repeat: 1,
        untilFail: false,
        jobs,
        runDir: dir,
        reportDir: join(dir, `suite-${jobs}`),
        reporter: () => new QuietReporter(() => undefined),
      },
      {},
    );
    const failed = r.runs.filter((x) => x.status !== 'passed').map((x) => x.scenario);
    console.log(
      `catalog (${all.length} scenarios) with --jobs ${jobs}: ${((Date.now() - started) / 1000).toFixed(1)} s${failed.length ? ` (not passed: ${failed.join(', ')})` : ''}`,
    );
  }
}

const { values, positionals } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    sidecar: { type: 'string', default: 'both' },
    catalog: { type: 'boolean', default: false },
    jobs: { type: 'string', default: `1,${availableParallelism()},4` },
  },
  allowPositionals: true,
});
const names = positionals.length
  ? positionals
  : readdirSync(SCENARIO_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -5));
const runs = Number(values.runs);
const dir = mkdtempSync(join(tmpdir(), 'egress-lab-bench-'));
chmodSync(dir, 0o755);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const quiet = new ConsoleReporter(() => undefined);

/** A run that fails still counts for timing (the model misses what only real Istio does); it is marked. */
const failed = new Set<string>();

async function measure(name: string, engine: SidecarEngine): Promise<ScenarioOutcome[]> {
  const loaded = loadScenarioFile(name);
  const samples: ScenarioOutcome[] = [];
  for (let i = 0; i < runs; i++) {
    const prefix = newRunPrefix();
    const runDir = join(dir, `${name}-${engine}-${prefix}`);
    const o = await runScenario(loaded, new NetnsBackend(loaded, runDir, prefix, { engine }), {
      cleanup: 'always',
      runDir,
      reporter: quiet,
      evidence: new RunDirectoryEvidence(runDir),
    });
    if (!o.ok && !o.probes.length) throw new Error(`${name} did not come up on ${engine}: ${o.error}; see ${runDir}`);
    if (!o.ok) failed.add(`${name} on ${engine}`);
    samples.push(o);
  }
  return samples;
}

const COLUMNS: Array<[string, (o: ScenarioOutcome) => number | undefined]> = [
  ['total', (o) => o.durationMs],
  ['up', (o) => o.timings.upMs],
  ['ctl-plane', (o) => o.timings.controlPlaneReadyMs],
  ['servers', (o) => o.timings.serversReadyMs],
  ['sidecars', (o) => o.timings.sidecarsReadyMs],
  ['landed', (o) => o.timings.configLandedMs],
  ['probes', (o) => o.timings.probesMs],
  ['down', (o) => o.timings.downMs],
];

if (values.catalog) {
  await catalogWallTimes();
  process.exit(0);
}

console.log(`median of ${runs} run(s), ms; up = ctl-plane + servers + sidecars + landed + namespaces`);
console.log(['scenario'.padEnd(40), 'engine'.padEnd(7), ...COLUMNS.map(([c]) => c.padStart(9))].join(''));
const totals = new Map<string, Partial<Record<SidecarEngine, number>>>();
for (const name of names) {
  for (const engine of enginesFor(loadScenarioFile(name), values.sidecar as SidecarChoice).engines) {
    const samples = await measure(name, engine);
    const cells = COLUMNS.map(([, f]) => String(median(samples.map((o) => f(o) ?? 0))).padStart(9));
    console.log([`${name}${failed.has(`${name} on ${engine}`) ? '*' : ''}`.padEnd(40), engine.padEnd(7), ...cells].join(''));
    totals.set(name, { ...totals.get(name), [engine]: median(samples.map((o) => o.durationMs)) });
  }
}
if (failed.size > 0) console.log(`* a check failed (timed anyway): ${[...failed].join(', ')}`);
const both = [...totals].filter(([, t]) => t.envoy !== undefined && t.model !== undefined);
if (both.length > 0) {
  console.log('\nreal sidecar minus model, per scenario (aim: within 2000 ms):');
  for (const [name, t] of both) console.log(`  ${name.padEnd(40)} ${String(t.envoy! - t.model!).padStart(6)} ms`);
}
