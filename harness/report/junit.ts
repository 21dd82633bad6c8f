/**
 * The suite run as JUnit XML, for CI systems: one <testsuite> per scenario run, one <testcase> per
 * probe (plus `pod-state` for the iptables-save checks), so a CI page lists failing probes by name
 * with the expectation that broke as the failure message and every check plus the evidence (what
 * the client saw, the conntrack legs, the stats that moved) as its body.
 *
 * A scenario whose set-up failed still gets a testcase (`setup` with <error>), and one that was
 * skipped or interrupted a `setup` testcase with <skipped message="interrupted: ...">, so no
 * scenario disappears from the file. Testsuites with failures or errors come first, then the rest
 * in run order.
 *
 * Built with xmlbuilder2, which escapes markup; everything from the run (probe output, error
 * messages) also goes through `xmlText`/`xmlAttr`, which drop the characters XML 1.0 forbids (NUL
 * and the other C0 controls, U+FFFE/U+FFFF, lone surrogates) and keep CR, LF and tab from being
 * lost to XML's newline and attribute normalisation.
 */
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { Check } from '../result/assertions.ts';
import { checkLine, evidenceLines, probeLine } from './console.ts';
import type { ProbeOutcome } from '../result/outcome.ts';
import type { ScenarioRun, SuiteResult } from './suiteResult.ts';

// ---------------------------------------------------------------------------------------------
// Characters

/** Characters XML 1.0 does not allow anywhere, not even as character references. */
const FORBIDDEN =
  // eslint-disable-next-line no-control-regex -- the C0 controls XML 1.0 forbids are matched on purpose, to be removed
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** What xmlText and xmlAttr take: a value String() turns into its text ('' for null and undefined). */
type Printable = string | number | boolean | null | undefined;

/** Removes the characters XML 1.0 forbids. */
export function stripForbidden(s: string): string {
  return s.replace(FORBIDDEN, '');
}

/** Element text: forbidden characters removed, CR LF and lone CR as LF (what a parser would make of them). */
export function xmlText(value: Printable): string {
  return stripForbidden(String(value ?? '')).replace(/\r\n?/g, '\n');
}

const MAX_ATTR = 1000;

/**
 * Attribute text: forbidden characters removed; CR, LF and tab written as the two characters \r,
 * \n, \t (a parser would turn them into spaces); cut at 1000 characters.
 */
export function xmlAttr(value: Printable): string {
  const s = stripForbidden(String(value ?? '')).replace(/[\r\n\t]/g, (c) => (c === '\r' ? '\\r' : c === '\n' ? '\\n' : '\\t'));
  return s.length > MAX_ATTR ? `${s.slice(0, MAX_ATTR)}…` : s;
}

// ---------------------------------------------------------------------------------------------
// Model: what each testsuite holds, before it becomes XML

interface CaseResult {
  kind: 'failure' | 'error' | 'skipped';
  message: string;
  type?: string;
  body?: string;
}

export interface JunitCase {
  name: string;
  classname: string;
  /** Seconds. */
  time: number;
  result?: CaseResult;
  /** <system-out>: the checks of a passing probe. */
  out?: string;
}

export interface JunitSuite {
  name: string;
  run: ScenarioRun;
  cases: JunitCase[];
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

const seconds = (ms: number | undefined) => Math.max(0, ms ?? 0) / 1000;

/** `<evidence> <what>: expected X, saw Y`: the failure message of a check. */
export function checkMessage(c: Check): string {
  return `${c.evidence} ${c.what}: expected ${c.expected}, saw ${c.seen}`;
}

/** The probe, its checks (✔/✘) and, when it did not hold, the evidence. */
function probeBody(p: ProbeOutcome): string {
  const lines = [`probe ${p.probe.name} from ${p.probe.from}: ${probeLine(p)}`];
  if (p.error) lines.push(`error: ${p.error}`);
  for (const c of p.checks) lines.push(checkLine(c));
  if (!p.ok) {
    lines.push('evidence:');
    for (const l of evidenceLines(p)) lines.push(`  ${l.replace(/\r\n?|\n/g, '\n    ')}`);
  }
  return lines.join('\n');
}

function probeCase(p: ProbeOutcome, classname: string): JunitCase {
  const c: JunitCase = { name: p.probe.name, classname, time: seconds(p.result?.durationMs) };
  if (p.interrupted) c.result = { kind: 'skipped', message: 'interrupted: the run was stopped while this probe ran', body: probeBody(p) };
  else if (p.error) c.result = { kind: 'error', type: 'ProbeError', message: p.error, body: probeBody(p) };
  else if (!p.ok) {
    const first = p.checks.find((x) => !x.ok);
    c.result = {
      kind: 'failure',
      type: 'ExpectationFailed',
      message: first ? checkMessage(first) : 'the probe did not hold',
      body: probeBody(p),
    };
  } else c.out = probeBody(p);
  return c;
}

function podStateCase(checks: Check[], classname: string): JunitCase {
  const c: JunitCase = { name: 'pod-state', classname, time: 0 };
  const body = checks.map((x) => checkLine(x)).join('\n');
  const first = checks.find((x) => !x.ok);
  if (first) c.result = { kind: 'failure', type: 'ExpectationFailed', message: checkMessage(first), body };
  else c.out = body;
  return c;
}

function skipMessage(run: ScenarioRun, r: SuiteResult): string {
  const reason = run.reason ?? r.interrupted;
  if (run.status === 'interrupted') return `interrupted: ${reason ?? 'the run was stopped'}`;
  if (r.interrupted) return `interrupted: ${reason}`;
  return `skipped: ${reason ?? 'not run'}`;
}

/** Whether the suite shows the attempt: the scenario runs more than once in this result. */
function repeated(run: ScenarioRun, r: SuiteResult): boolean {
  return run.attempt > 1 || r.runs.filter((x) => x.scenario === run.scenario).length > 1;
}

/** The testsuite of one scenario run, with its counts. */
export function suiteOf(run: ScenarioRun, r: SuiteResult): JunitSuite {
  const classname = `egress-lab.${run.scenario}`;
  const o = run.outcome;
  const cases: JunitCase[] = [];
  if (o && o.podChecks.length > 0) cases.push(podStateCase(o.podChecks, classname));
  for (const p of o?.probes ?? []) cases.push(probeCase(p, classname));
  const where = o?.runDir ? `\nrun directory: ${o.runDir}` : '';
  if (run.status === 'skipped' || run.status === 'interrupted') {
    const body = [skipMessage(run, r), o?.error ? `error: ${o.error}` : ''].filter(Boolean).join('\n') + where;
    cases.push({ name: 'setup', classname, time: 0, result: { kind: 'skipped', message: skipMessage(run, r), body } });
  } else if (!o || (o.error && o.probes.length === 0)) {
    const message = o?.error ?? run.reason ?? 'the scenario produced no outcome';
    cases.push({
      name: 'setup',
      classname,
      time: seconds(o?.timings.upMs),
      result: { kind: 'error', type: 'SetupError', message, body: message + where },
    });
  } else if (o.error) {
    // Set-up worked and some probes ran, then the harness itself failed (conntrack, stats, artifacts).
    cases.push({
      name: 'run',
      classname,
      time: 0,
      result: { kind: 'error', type: 'HarnessError', message: o.error, body: o.error + where },
    });
  }
  // A failing run must fail in the JUnit too, whatever the cause.
  if ((run.status === 'failed' || run.status === 'error') && !cases.some((c) => c.result && c.result.kind !== 'skipped')) {
    const message = run.reason ?? `the scenario ${run.status === 'error' ? 'errored' : 'failed'}`;
    cases.push({
      name: 'run',
      classname,
      time: 0,
      result: { kind: run.status === 'error' ? 'error' : 'failure', message, body: message + where },
    });
  }
  const count = (k: CaseResult['kind']) => cases.filter((c) => c.result?.kind === k).length;
  return {
    name: repeated(run, r) ? `${run.scenario} (attempt ${run.attempt})` : run.scenario,
    run,
    cases,
    tests: cases.length,
    failures: count('failure'),
    errors: count('error'),
    skipped: count('skipped'),
  };
}

/** Testsuites with failures or errors first, then the others; run order within each group. */
export function junitSuites(r: SuiteResult): JunitSuite[] {
  const suites = r.runs.map((run) => suiteOf(run, r));
  const bad = (s: JunitSuite) => s.failures + s.errors > 0;
  return [...suites.filter(bad), ...suites.filter((s) => !bad(s))];
}

// ---------------------------------------------------------------------------------------------
// XML

const num = (n: number) => String(Number(n.toFixed(3)));

function addProperties(el: XMLBuilder, props: [string, string | undefined][]): void {
  const list = el.ele('properties');
  for (const [name, value] of props) if (value !== undefined) list.ele('property', { name: xmlAttr(name), value: xmlAttr(value) });
}

function addCase(suite: XMLBuilder, c: JunitCase): void {
  const el = suite.ele('testcase', { name: xmlAttr(c.name), classname: xmlAttr(c.classname), time: num(c.time) });
  if (c.result) {
    const attrs: Record<string, string> = { message: xmlAttr(c.result.message) };
    if (c.result.type) attrs.type = xmlAttr(c.result.type);
    const child = el.ele(c.result.kind, attrs);
    if (c.result.body && c.result.kind !== 'skipped') child.txt(xmlText(c.result.body));
    if (c.result.body && c.result.kind === 'skipped') el.ele('system-out').txt(xmlText(c.result.body));
  }
  if (c.out) el.ele('system-out').txt(xmlText(c.out));
}

export function renderJunit(r: SuiteResult): string {
  const suites = junitSuites(r);
  const sum = (k: 'tests' | 'failures' | 'errors' | 'skipped') => suites.reduce((n, s) => n + s[k], 0);
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('testsuites', {
    name: 'egress-lab',
    tests: String(sum('tests')),
    failures: String(sum('failures')),
    errors: String(sum('errors')),
    skipped: String(sum('skipped')),
    time: num(seconds(r.durationMs)),
    timestamp: xmlAttr(r.startedAt),
  });
  for (const s of suites) {
    const { run } = s;
    const el = root.ele('testsuite', {
      name: xmlAttr(s.name),
      tests: String(s.tests),
      failures: String(s.failures),
      errors: String(s.errors),
      skipped: String(s.skipped),
      time: num(seconds(run.durationMs)),
      timestamp: xmlAttr(run.startedAt),
    });
    addProperties(el, [
      ['istio', run.istio],
      ['backend', run.backend],
      ['tags', run.tags.join(',')],
      ['runDir', run.outcome?.runDir],
      ['attempt', String(run.attempt)],
      ['status', run.status],
      ['reason', run.reason],
      ['description', run.description],
    ]);
    for (const c of s.cases) addCase(el, c);
  }
  return root.end({ prettyPrint: true }) + '\n';
}
