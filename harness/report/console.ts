/**
 * What the user sees while a scenario runs: a line per step, per probe the expected and seen value
 * of every check, the evidence when something fails, and a summary.
 */
import type { Progress, SidecarInfo } from '../backend/backend.ts';
import { describeProbe } from '../probes/registry.ts';
import type { LoadedScenario } from '../scenario/load.ts';
import { describeLeg } from '../evidence/conntrack.ts';
import type { ProbeOutcome, ScenarioOutcome } from '../result/outcome.ts';
import type { AddressMapping } from '../scenario/addressMapping.ts';
import type { Check } from '../result/assertions.ts';

export function checkLine(c: Check): string {
  const basis = c.basis === 'reasoned' ? ' [reasoned]' : '';
  return `${c.ok ? '✔' : '✘'} ${c.evidence} ${c.what}${basis}: expected ${c.expected}, saw ${c.seen}`;
}

/** What the reporter says about where a scenario runs. */
export interface RunSite {
  name: string;
  sidecar?: SidecarInfo;
  fidelityNotes: string[];
}

export interface Reporter extends Progress {
  scenarioStart(loaded: LoadedScenario, site: RunSite, runDir: string): void;
  probe(outcome: ProbeOutcome): void;
  podChecks(checks: Check[]): void;
  /** The addresses the backend used instead of the scenario's (kind); probes and checks use the real ones. */
  addresses(mappings: AddressMapping[]): void;
  error(message: string): void;
  keep(instructions: string[]): void;
  scenarioEnd(outcome: ScenarioOutcome): void;
}

/** "addresses: external server redis-cluster 10.0.0.6 -> 172.18.0.5 (real)", one line per mapping. */
export function addressLines(mappings: AddressMapping[]): string[] {
  if (mappings.length === 0) return [];
  return [
    'addresses (scenario -> real; probes and checks use the real ones):',
    ...mappings.map((m) => `  ${m.what} ${m.name}: ${m.scenario} -> ${m.real}`),
  ];
}

export function probeLine(o: ProbeOutcome): string {
  return describeProbe(o.probe);
}

/** What the client saw, the conntrack legs and the stats that moved: shown when a probe fails. */
export function evidenceLines(o: ProbeOutcome): string[] {
  const lines: string[] = [];
  const r = o.result;
  if (r) {
    lines.push(`client: connect=${r.connect} end=${r.end} error=${r.errorClass}${r.error ? ` (${r.error})` : ''} in ${r.durationMs} ms`);
    lines.push(
      `client received ${r.receivedBytes} bytes: ${JSON.stringify(r.received.slice(0, 300))}${r.reply ? ` reply ${JSON.stringify(r.reply)}` : ''}`,
    );
    if (r.exitCode !== undefined)
      lines.push(`curl exit ${r.exitCode}${r.curlError ? `: ${r.curlError}` : ''}, HTTP ${r.httpStatus ?? '-'}`);
    if (r.headers)
      lines.push(
        `response headers: ${Object.entries(r.headers)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')}`,
      );
    if (r.body) lines.push(`body: ${JSON.stringify(r.body.slice(0, 300))}`);
    if (r.serverVersion) lines.push(`server greeting: ${r.serverVersion}`);
  }
  const legs = o.legs ? [o.legs.client, ...o.legs.others].filter(Boolean) : [];
  lines.push(`conntrack legs: ${legs.length ? '' : 'none'}`);
  for (const l of legs) lines.push(`  ${describeLeg(l!)}`);
  if (o.statsDiff) {
    const moved = Object.entries(o.statsDiff);
    lines.push(`stats that moved: ${moved.length ? '' : 'none'}`);
    for (const [k, v] of moved) lines.push(`  ${k} +${v}`);
  }
  return lines;
}

export class ConsoleReporter implements Reporter {
  constructor(private readonly write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)) {}

  step(message: string): void {
    this.write(`  · ${message}`);
  }

  scenarioStart(loaded: LoadedScenario, site: RunSite, runDir: string): void {
    const s = loaded.scenario;
    this.write(
      `▶ ${s.name}: scenario for Istio ${loaded.istio.text} (${loaded.istio.era}), ${s.mesh.outboundTrafficPolicy}, backend ${site.name}`,
    );
    if (site.sidecar) this.write(`  sidecar: ${site.sidecar.describe}`);
    this.write(`  run directory: ${runDir}`);
    for (const note of site.fidelityNotes) this.write(`  fidelity: ${note}`);
  }

  probe(o: ProbeOutcome): void {
    if (o.interrupted) {
      this.write(`⏹ probe ${o.probe.name} from ${o.probe.from}: ${probeLine(o)}: interrupted, no verdict`);
      return;
    }
    this.write(`${o.ok ? '✔' : '✘'} probe ${o.probe.name} from ${o.probe.from}: ${probeLine(o)}`);
    if (o.error) this.write(`    error: ${o.error}`);
    for (const c of o.checks) this.write(`    ${checkLine(c)}`);
    if (!o.ok) for (const line of evidenceLines(o)) this.write(`    │ ${line}`);
  }

  podChecks(checks: Check[]): void {
    for (const c of checks) this.write(`${c.ok ? '✔' : '✘'} pod state: ${checkLine(c).slice(2)}`);
  }

  addresses(mappings: AddressMapping[]): void {
    for (const line of addressLines(mappings)) this.write(`  ${line}`);
  }

  error(message: string): void {
    this.write(`✘ error: ${message}`);
  }

  keep(instructions: string[]): void {
    this.write('  lab kept up; poke it with:');
    for (const l of instructions) this.write(`    ${l}`);
  }

  scenarioEnd(o: ScenarioOutcome): void {
    const checks = [...o.podChecks, ...o.probes.flatMap((p) => p.checks)];
    const failed = checks.filter((c) => !c.ok).length + o.probes.filter((p) => p.error).length;
    const reasoned = checks.filter((c) => c.basis === 'reasoned').length;
    this.write(
      `${o.interrupted ? 'INTERRUPTED' : o.ok ? 'PASS' : 'FAIL'} ${o.name}: ${o.probes.length} probes, ${checks.length} checks, ${failed} failed` +
        `${reasoned ? `, ${reasoned} rest on reasoned (not observed) facts` : ''}, ${(o.durationMs / 1000).toFixed(1)} s`,
    );
    this.write(`  artifacts: ${o.runDir}`);
  }
}

/** A ConsoleReporter whose lines are held back, for reporters that decide when a scenario's lines print. */
abstract class BufferedReporter implements Reporter {
  protected buffer: string[] = [];
  protected readonly inner = new ConsoleReporter((l) => this.buffer.push(l));

  constructor(protected readonly write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)) {}

  step(m: string): void {
    this.inner.step(m);
  }
  scenarioStart(loaded: LoadedScenario, site: RunSite, runDir: string): void {
    this.inner.scenarioStart(loaded, site, runDir);
  }
  probe(o: ProbeOutcome): void {
    this.inner.probe(o);
  }
  podChecks(checks: Check[]): void {
    this.inner.podChecks(checks);
  }
  addresses(mappings: AddressMapping[]): void {
    this.inner.addresses(mappings);
  }
  error(message: string): void {
    this.inner.error(message);
  }
  keep(instructions: string[]): void {
    this.inner.keep(instructions);
  }
  abstract scenarioEnd(o: ScenarioOutcome): void;
  /** Prints whatever is buffered. */
  flush(): void {
    for (const l of this.buffer) this.write(l);
    this.buffer = [];
  }
}

/**
 * Quiet on success, everything on failure: the full output of a scenario is buffered and printed
 * only if the scenario fails (or the run is interrupted); a passing one gets a single line.
 */
export class QuietReporter extends BufferedReporter {
  override scenarioStart(loaded: LoadedScenario, site: RunSite, runDir: string): void {
    this.buffer = [];
    super.scenarioStart(loaded, site, runDir);
  }
  scenarioEnd(o: ScenarioOutcome): void {
    this.inner.scenarioEnd(o);
    if (o.ok) {
      const checks = o.podChecks.length + o.probes.reduce((n, p) => n + p.checks.length, 0);
      const engine = o.sidecar ? ` [${o.sidecar.engine}]` : '';
      this.write(
        `✔ ${`${o.name}${engine}`.padEnd(48)} ${String(o.probes.length).padStart(2)} probes ${String(checks).padStart(3)} checks ${(o.durationMs / 1000).toFixed(1).padStart(5)} s`,
      );
    } else this.flush();
    this.buffer = [];
  }
}

/**
 * Every step of a scenario, like ConsoleReporter, but printed as one block when the scenario ends:
 * what `--verbose` uses when scenarios run side by side, so their lines do not interleave.
 */
export class GroupedReporter extends BufferedReporter {
  scenarioEnd(o: ScenarioOutcome): void {
    this.inner.scenarioEnd(o);
    this.flush();
  }
}
