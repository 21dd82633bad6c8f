/**
 * Reading a scenario file: YAML parse, schema validation, then the cross-field checks a schema cannot
 * express (duplicate names, references, addresses in the right ranges). Every problem is reported with
 * the file, the line, the field path and what was expected, before anything is created.
 */
import { readFileSync, existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { scenarioSchema, type Scenario } from './schema.ts';
import { parseIstioVersion, type IstioVersion } from './istioVersion.ts';
import { cidrContains } from '../model/net.ts';
import { isCidr } from './schema.ts';

export interface ScenarioIssue {
  path: string;
  message: string;
  line?: number;
  /** The path as YAML keys, when a key itself contains dots (annotation names do). */
  keys?: (string | number)[];
}

export class ScenarioError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ScenarioIssue[],
  ) {
    super(
      `${file}: invalid scenario\n` +
        issues.map((i) => `  ${file}${i.line ? `:${i.line}` : ''}: ${i.path || '(top level)'}: ${i.message}`).join('\n'),
    );
    this.name = 'ScenarioError';
  }
}

export interface LoadedScenario {
  file: string;
  scenario: Scenario;
  istio: IstioVersion;
}

export const SCENARIO_DIR = resolve(import.meta.dirname, '../../scenarios');

/** Accepts a scenario name (looked up in scenarios/) or a path to a YAML file. */
export function resolveScenarioPath(nameOrPath: string): string {
  if (existsSync(nameOrPath)) return resolve(nameOrPath);
  const inDir = join(SCENARIO_DIR, `${nameOrPath}.yaml`);
  if (existsSync(inDir)) return inDir;
  throw new Error(`no scenario "${nameOrPath}": not a file, and ${inDir} does not exist`);
}

export function loadScenarioFile(nameOrPath: string): LoadedScenario {
  const file = resolveScenarioPath(nameOrPath);
  return parseScenario(readFileSync(file, 'utf8'), file);
}

export function parseScenario(text: string, file: string): LoadedScenario {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      file,
      doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message.split('\n')[0]}`, line: lines.linePos(e.pos[0]).line })),
    );
  }
  const lineOf = lineFinder(doc, lines);
  const parsed = scenarioSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw new ScenarioError(
      file,
      parsed.error.issues.map((i) => {
        const path = i.path.filter((p): p is string | number => typeof p !== 'symbol');
        // An unknown field is reported on its own line, not on the line where its object starts.
        const at = i.code === 'unrecognized_keys' && 'keys' in i ? [...path, (i.keys as string[])[0]!] : path;
        return { path: formatPath(path), message: describeIssue(i), line: lineOf(at) ?? lineOf(path) ?? lineOf(path.slice(0, -1)) };
      }),
    );
  }
  const scenario = parsed.data;
  const issues = crossCheck(scenario);
  const istio = parseIstioVersion(scenario.istio);
  if (typeof istio === 'string') issues.unshift({ path: 'istio', message: istio });
  if (issues.length > 0) {
    throw new ScenarioError(file, issues.map((i) => ({ ...i, line: lineOf(i.keys ?? pathParts(i.path)) })));
  }
  if (basename(file, '.yaml') !== scenario.name && file.endsWith('.yaml') && file.startsWith(SCENARIO_DIR)) {
    throw new ScenarioError(file, [{ path: 'name', message: `expected "${basename(file, '.yaml')}" to match the file name` }]);
  }
  return { file, scenario, istio: istio as IstioVersion };
}

type LineOf = (path: (string | number)[]) => number | undefined;

function lineFinder(doc: ReturnType<typeof parseDocument>, lines: LineCounter): LineOf {
  return (path) => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return node?.range ? lines.linePos(node.range[0]).line : undefined;
  };
}

/** The line of a field in a scenario file (for checks made after loading, e.g. Istio's validation). */
export function lineOfField(loaded: LoadedScenario, path: (string | number)[]): number | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(readFileSync(loaded.file, 'utf8'), { lineCounter: lines, prettyErrors: false });
  return lineFinder(doc, lines)(path);
}

function describeIssue(i: { code: string; message: string; keys?: string[] }): string {
  if (i.code === 'unrecognized_keys' && i.keys) return `unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`;
  return i.message;
}

function formatPath(path: (string | number)[]): string {
  return path.map((p, n) => (typeof p === 'number' ? `[${p}]` : n === 0 ? p : `.${p}`)).join('');
}

function pathParts(path: string): (string | number)[] {
  return path
    .split(/\.|(?=\[)/)
    .filter(Boolean)
    .map((p) => (p.startsWith('[') ? Number(p.slice(1, -1)) : p));
}

/** Checks that need more than one field: names, references and address ranges. */
function crossCheck(s: Scenario): ScenarioIssue[] {
  const issues: ScenarioIssue[] = [];
  const dup = (list: { key: string }[], where: string, what: string) => {
    const seen = new Map<string, number>();
    list.forEach(({ key }, n) => {
      if (seen.has(key)) issues.push({ path: `${where}[${n}].name`, message: `duplicate ${what} "${key}" (also at ${where}[${seen.get(key)}])` });
      else seen.set(key, n);
    });
  };
  dup(s.workloads.map((w) => ({ key: w.name })), 'workloads', 'workload name');
  dup(s.mesh.services.map((v) => ({ key: `${v.namespace}/${v.name}` })), 'mesh.services', 'Service');
  dup(s.mesh.serviceEntries.map((v) => ({ key: `${v.namespace}/${v.name}` })), 'mesh.serviceEntries', 'ServiceEntry');
  dup(s.mesh.endpoints.map((v) => ({ key: `${v.namespace}/${v.name}` })), 'mesh.endpoints', 'Endpoints');
  dup(s.externalServers.map((v) => ({ key: v.name })), 'externalServers', 'external server name');
  dup(s.probes.map((p) => ({ key: p.name })), 'probes', 'probe name');
  dup(s.workloads.map((w) => ({ key: w.ip })), 'workloads', 'pod IP');

  s.workloads.forEach((w, n) => {
    if (!cidrContains(s.lab.podCIDR, w.ip)) {
      issues.push({ path: `workloads[${n}].ip`, message: `expected an address inside lab.podCIDR ${s.lab.podCIDR}, got ${w.ip}` });
    }
    for (const [key, value] of Object.entries(w.annotations)) {
      const kind = /^traffic\.sidecar\.istio\.io\/(include|exclude)OutboundIPRanges$/.exec(key)?.[1];
      if (!kind) continue;
      // istio-iptables accepts "*" only for the include list.
      const bad = value.split(',').filter(Boolean).find((c) => !(isCidr(c) || (kind === 'include' && c === '*')));
      if (bad !== undefined) {
        issues.push({
          path: `workloads[${n}].annotations.${key}`,
          keys: ['workloads', n, 'annotations', key],
          message: `expected a comma list of IPv4 CIDRs like 10.0.0.0/24${kind === 'include' ? ' (or *)' : ''}, got "${bad}"`,
        });
      }
    }
  });
  s.mesh.services.forEach((svc, n) => {
    if (svc.clusterIP !== 'None' && cidrContains(s.lab.podCIDR, svc.clusterIP)) {
      issues.push({ path: `mesh.services[${n}].clusterIP`, message: `expected a ClusterIP outside the pod CIDR ${s.lab.podCIDR}` });
    }
  });
  s.mesh.endpoints.forEach((ep, n) => {
    if (!s.mesh.services.some((svc) => svc.name === ep.name && svc.namespace === ep.namespace)) {
      issues.push({ path: `mesh.endpoints[${n}].name`, message: `expected a Service ${ep.namespace}/${ep.name} for these Endpoints` });
    }
  });
  s.externalServers.forEach((srv, n) =>
    srv.addresses.forEach((a, k) => {
      if (cidrContains(s.lab.podCIDR, a)) {
        issues.push({ path: `externalServers[${n}].addresses[${k}]`, message: `expected an address outside the pod CIDR ${s.lab.podCIDR}` });
      }
    }),
  );
  const workloadNames = new Set(s.workloads.map((w) => w.name));
  s.probes.forEach((p, n) => {
    if (!workloadNames.has(p.from)) {
      issues.push({ path: `probes[${n}].from`, message: `expected one of the workloads (${[...workloadNames].join(', ')}), got "${p.from}"` });
    }
  });
  s.assertions.forEach((a, n) => {
    if (!workloadNames.has(a.workload)) {
      issues.push({ path: `assertions[${n}].workload`, message: `expected one of the workloads (${[...workloadNames].join(', ')}), got "${a.workload}"` });
    }
  });
  return issues;
}
