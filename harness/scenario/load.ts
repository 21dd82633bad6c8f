/**
 * Reading a scenario file: YAML parse, schema validation, then the cross-field checks a schema cannot
 * express (duplicate names, references, addresses in the right ranges). Every problem is reported with
 * the file, the line, the field path and what was expected, before anything is created.
 */
import { readFileSync, existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { scenarioSchema, type Scenario } from './schema.ts';
import { parseIstioVersion, type IstioVersion } from './istioVersion.ts';
import { cidrContains, ipToInt, parseCidr } from '../core/net.ts';
import { isCidr } from './schema.ts';
import { withOutcome } from './outcomes.ts';
import { probeTarget } from '../probes/registry.ts';
import { callerDir } from '../core/cliArgs.ts';
import { describeSource, readManifests, withDefaultNamespace, type ObjectSource } from './manifests.ts';
import { identityKey, kindVerdict, objectKey } from './objectKinds.ts';
import { policySidecarNamespaces } from './outboundPolicy.ts';
import { servicesWithoutClusterIP } from './labServices.ts';
import { proxyMetadataIssues } from './proxyMetadata.ts';

export { callerDir };

export interface ScenarioIssue {
  path: string;
  message: string;
  line?: number;
  /** The file the line is in, when it is not the scenario file (a manifest). */
  file?: string;
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
        issues.map((i) => `  ${i.file ?? file}${i.line ? `:${i.line}` : ''}: ${i.path || '(top level)'}: ${i.message}`).join('\n'),
    );
    this.name = 'ScenarioError';
  }
}

export interface LoadedScenario {
  file: string;
  scenario: Scenario;
  istio: IstioVersion;
  /** Old field names the file still uses, each "file:line: what to write instead" (the CLI prints them). */
  deprecations: string[];
  /** Where each of scenario.objects was written (inline or a manifest), index for index. */
  objectSources: ObjectSource[];
}

export const SCENARIO_DIR = resolve(import.meta.dirname, '../../scenarios');
/** Accepts a scenario name (looked up in scenarios/) or a path to a YAML file (relative to the caller's directory). */
export function resolveScenarioPath(nameOrPath: string): string {
  const asPath = resolve(callerDir(), nameOrPath);
  if (existsSync(asPath)) {
    if (statSync(asPath).isDirectory())
      throw new ScenarioError(asPath, [{ path: '', message: 'is a directory; expected a scenario YAML file' }]);
    return asPath;
  }
  const inDir = join(SCENARIO_DIR, `${nameOrPath}.yaml`);
  if (existsSync(inDir)) return inDir;
  throw new Error(`no scenario "${nameOrPath}": not a file (relative to ${callerDir()}), and ${inDir} does not exist`);
}

/** Scenarios are a few KB; anything far larger is not one, and is not echoed back. */
const MAX_SCENARIO_BYTES = 1024 * 1024;

export function loadScenarioFile(nameOrPath: string): LoadedScenario {
  const file = resolveScenarioPath(nameOrPath);
  const size = statSync(file).size;
  if (size > MAX_SCENARIO_BYTES)
    throw new ScenarioError(file, [
      { path: '', message: `${size} bytes is too large for a scenario (at most ${MAX_SCENARIO_BYTES}); is it the right file?` },
    ]);
  const bytes = readFileSync(file);
  if (bytes.includes(0))
    throw new ScenarioError(file, [{ path: '', message: 'is binary (it contains NUL bytes); expected a YAML text file' }]);
  return parseScenario(bytes.toString('utf8'), file);
}

/** A message quoting the file's own content is cut short: the file may be anything. */
function clipped(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function parseScenario(text: string, file: string): LoadedScenario {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      file,
      doc.errors
        .slice(0, 5)
        .map((e) => ({ path: '', message: `YAML: ${clipped(e.message.split('\n')[0] ?? '')}`, line: yamlErrorLine(e, lines, text) })),
    );
  }
  const lineOf = lineFinder(doc, lines);
  let data: unknown;
  try {
    // An alias bomb (billion laughs) stops here, not in memory.
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ScenarioError(file, [{ path: '', message: `YAML: ${clipped((err as Error).message)}` }]);
  }
  const parsed = scenarioSchema.safeParse(data);
  if (!parsed.success) {
    throw new ScenarioError(
      file,
      parsed.error.issues.map((i) => {
        const path = i.path.filter((p): p is string | number => typeof p !== 'symbol');
        // An unknown field is reported on its own line, not on the line where its object starts.
        const at = i.code === 'unrecognized_keys' && 'keys' in i ? [...path, i.keys[0]!] : path;
        return { path: formatPath(path), message: describeIssue(i), line: lineOf(at) ?? lineOf(path) ?? lineOf(path.slice(0, -1)) };
      }),
    );
  }
  const read = verbatimObjects(parsed.data, file, lineOf);
  const scenario = withMeshConfigPolicy({ ...parsed.data, objects: read.objects });
  const issues: ScenarioIssue[] = [
    ...read.issues,
    ...crossCheck(scenario),
    ...objectChecks(scenario, read.sources, data, file),
    ...proxyMetadataIssues(scenario).map((i) => ({ path: formatPath(i.keys), keys: i.keys, message: i.message })),
  ];
  const istio = parseIstioVersion(scenario.istio);
  if (typeof istio === 'string') issues.unshift({ path: 'istio', message: istio });
  if (issues.length > 0) {
    throw new ScenarioError(
      file,
      issues.map((i) => (i.file ? i : { ...i, line: i.line ?? lineOf(i.keys ?? pathParts(i.path)) })),
    );
  }
  if (basename(file, '.yaml') !== scenario.name && file.endsWith('.yaml') && file.startsWith(SCENARIO_DIR)) {
    throw new ScenarioError(file, [{ path: 'name', message: `expected "${basename(file, '.yaml')}" to match the file name` }]);
  }
  const era = (istio as IstioVersion).era;
  const probes = scenario.probes.map((p) => ({ ...p, expect: withOutcome(p.expect, probeTarget(p), era) }));
  return {
    file,
    scenario: { ...scenario, probes },
    istio: istio as IstioVersion,
    deprecations: deprecations(data, file, lineOf),
    objectSources: read.sources,
  };
}

/** The inline objects and the manifests' documents, in that order, with where each was written. */
function verbatimObjects(
  s: Scenario,
  file: string,
  lineOf: LineOf,
): { objects: Scenario['objects']; sources: ObjectSource[]; issues: ScenarioIssue[] } {
  const inline = s.objects.map(withDefaultNamespace);
  const inlineSources = inline.map((_, i): ObjectSource => ({ file, field: `objects[${i}]`, line: lineOf(['objects', i]) }));
  const fromFiles = readManifests(file, s.manifests);
  const issues = fromFiles.issues.map((i): ScenarioIssue => ({
    path: i.field,
    message: i.message,
    ...(i.file !== file ? { file: i.file } : {}),
    ...(i.line ? { line: i.line } : {}),
  }));
  return { objects: [...inline, ...fromFiles.objects], sources: [...inlineSources, ...fromFiles.sources], issues };
}

/** A meshConfig policy the shorthand can say is written into it too, so that every reader agrees. */
function withMeshConfigPolicy(s: Scenario): Scenario {
  const mode = (s.meshConfig.outboundTrafficPolicy as { mode?: unknown } | undefined)?.mode;
  if (mode !== 'ALLOW_ANY' && mode !== 'REGISTRY_ONLY') return s;
  return { ...s, mesh: { ...s.mesh, outboundTrafficPolicy: mode } };
}

/** The name field of a place objectChecks names: a shorthand entry's, an inline object's, or the manifest itself. */
function nameField(where: string): string {
  if (where.startsWith('mesh.')) return `${where}.name`;
  if (where.startsWith('objects[')) return `${where}.metadata.name`;
  return where;
}

/** An issue about a verbatim object, at the line and file it was written in. */
function objectIssue(src: ObjectSource, scenarioFile: string, message: string): ScenarioIssue {
  return {
    path: describeSource(src),
    message,
    ...(src.line ? { line: src.line } : {}),
    ...(src.file !== scenarioFile ? { file: src.file } : {}),
  };
}

/**
 * Verbatim objects: kinds the lab reads (scenario/objectKinds.ts), no two objects with one
 * kind/namespace/name (shorthand, verbatim or the lab's policy Sidecars), and one outbound policy.
 */
function objectChecks(s: Scenario, sources: ObjectSource[], data: unknown, file: string): ScenarioIssue[] {
  const issues: ScenarioIssue[] = [];
  const seen = new Map<string, string>();
  const claim = (key: string, where: string): string | undefined => {
    const other = seen.get(key);
    if (other === undefined) seen.set(key, where);
    return other;
  };
  const m = s.mesh;
  const ISTIO = 'networking.istio.io/v1';
  const shorthand: Array<[string, string, { name: string; namespace: string }[], string]> = [
    ['v1', 'Service', m.services, 'mesh.services'],
    ['v1', 'Endpoints', m.endpoints, 'mesh.endpoints'],
    [ISTIO, 'ServiceEntry', m.serviceEntries, 'mesh.serviceEntries'],
    [ISTIO, 'VirtualService', m.virtualServices, 'mesh.virtualServices'],
    [ISTIO, 'DestinationRule', m.destinationRules, 'mesh.destinationRules'],
    [ISTIO, 'Sidecar', m.sidecars, 'mesh.sidecars'],
  ];
  for (const [apiVersion, kind, list, field] of shorthand) {
    list.forEach((o, i) => {
      const other = claim(identityKey({ apiVersion, kind, metadata: o }), `${field}[${i}]`);
      // Two entries of services, serviceEntries or endpoints are crossCheck's to report.
      const crossChecked = ['mesh.services', 'mesh.serviceEntries', 'mesh.endpoints'].includes(field) && other?.startsWith(`${field}[`);
      if (other && !crossChecked)
        issues.push({ path: `${field}[${i}].name`, message: `${kind} ${o.namespace}/${o.name} is also given at ${other}` });
    });
  }
  const generated = 'the Sidecar the lab generates for the outbound policy';
  for (const ns of policySidecarNamespaces(s)) {
    const other = claim(identityKey({ apiVersion: ISTIO, kind: 'Sidecar', metadata: { name: 'default', namespace: ns } }), generated);
    if (other)
      issues.push({
        path: nameField(other),
        message: `Sidecar ${ns}/default is also ${generated} (one per workload namespace without a namespace-wide Sidecar): rename it`,
      });
  }
  s.objects.forEach((o, i) => {
    const src = sources[i]!;
    const verdict = kindVerdict(o.apiVersion, o.kind);
    if ('refused' in verdict) issues.push(objectIssue(src, file, `${o.apiVersion} ${o.kind} is not accepted: ${verdict.refused}`));
    // Namespaces are the one kind the lab also generates: a verbatim one replaces the generated one.
    if (o.kind === 'Namespace' && !seen.has(identityKey(o))) {
      seen.set(identityKey(o), describeSource(src));
      return;
    }
    const other = claim(identityKey(o), describeSource(src));
    if (other) issues.push(objectIssue(src, file, `${objectKey(o)} is also given at ${other}`));
  });
  for (const i of servicesWithoutClusterIP(s))
    issues.push(
      objectIssue(
        sources[i]!,
        file,
        `${objectKey(s.objects[i]!)}: a ClusterIP Service needs spec.clusterIP in the lab (no API server allocates one): give an address outside the pod CIDR, or "None" for a headless Service`,
      ),
    );
  const raw = (data as { mesh?: { outboundTrafficPolicy?: unknown } }).mesh?.outboundTrafficPolicy;
  const given = s.meshConfig.outboundTrafficPolicy as { mode?: unknown } | undefined;
  // A meshConfig policy without a mode is Istio's default (ALLOW_ANY), and it replaces the shorthand's Sidecars.
  const fromMesh = given === undefined ? undefined : (given.mode ?? "ALLOW_ANY (Istio's default: no mode given)");
  if (raw !== undefined && fromMesh !== undefined && raw !== fromMesh) {
    issues.push({
      path: 'meshConfig.outboundTrafficPolicy.mode',
      message: `mesh.outboundTrafficPolicy says ${JSON.stringify(raw)} and meshConfig.outboundTrafficPolicy.mode says ${JSON.stringify(fromMesh)}: give the policy once`,
    });
  }
  return issues;
}

/** `expect.model` and `basis.model` were renamed `path`: still read, and said where to rename. */
function deprecations(data: unknown, file: string, lineOf: LineOf): string[] {
  const probes = (data as { probes?: Array<{ expect?: { model?: unknown; basis?: unknown } }> }).probes ?? [];
  return probes.flatMap((p, i) => {
    const at = (keys: (string | number)[]) => `${file}${lineOf(keys) ? `:${lineOf(keys)}` : ''}: probes[${i}].${keys.slice(2).join('.')}`;
    const basis = p.expect?.basis;
    return [
      ...(p.expect?.model !== undefined ? [`${at(['probes', i, 'expect', 'model'])} is now expect.path (read as path; rename it)`] : []),
      ...(typeof basis === 'object' && basis !== null && 'model' in basis
        ? [`${at(['probes', i, 'expect', 'basis', 'model'])} is now basis.path (read as path; rename it)`]
        : []),
    ];
  });
}

/**
 * The line a YAML error is on. An unclosed flow collection is noticed where the next token is,
 * often a line later; the error names where the collection was opened, which is the line to show.
 */
function yamlErrorLine(e: { pos: [number, number]; message: string }, lines: LineCounter, text: string): number {
  const at = /^Flow (sequence|map)/.test(e.message) ? unclosedFlowStart(text, e.pos[0]) : undefined;
  return lines.linePos(at ?? e.pos[0]).line;
}

/** Where the innermost flow collection still open at `end` was opened (quotes and comments skipped). */
function unclosedFlowStart(text: string, end: number): number | undefined {
  const open: number[] = [];
  let quote: string | undefined;
  for (let i = 0; i < end; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) i = text.indexOf('\n', i) < 0 ? end : text.indexOf('\n', i);
    else if (c === '[' || c === '{') open.push(i);
    else if (c === ']' || c === '}') open.pop();
  }
  return open.at(-1);
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

function describeIssue(i: { code: string; message: string; keys?: string[]; issues?: Array<{ message: string }> }): string {
  if (i.code === 'unrecognized_keys' && i.keys) return `unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`;
  // A bad record key: zod says only "Invalid key in record"; the key schema's own message says what was expected.
  if (i.code === 'invalid_key' && i.issues?.[0]) return `invalid key: ${i.issues[0].message}`;
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

/** Why an address cannot be a lab host's: loopback, unspecified, multicast, or its subnet's network or broadcast address. */
function unusableHostAddress(ip: string, subnet: string): string | undefined {
  const n = ipToInt(ip);
  if (cidrContains('127.0.0.0/8', ip)) return 'loopback';
  if (n === 0) return 'unspecified';
  if (cidrContains('224.0.0.0/4', ip) || cidrContains('240.0.0.0/4', ip)) return 'multicast or reserved';
  const { prefix } = parseCidr(subnet);
  if (prefix > 30) return undefined;
  const size = 2 ** (32 - prefix);
  const base = (ipToInt(parseCidr(subnet).ip) & ((~0 << (32 - prefix)) >>> 0)) >>> 0;
  if (n === base) return `the network address of ${subnet}`;
  if (n === base + size - 1) return `the broadcast address of ${subnet}`;
  return undefined;
}

/** Checks that need more than one field: names, references and address ranges. */
function crossCheck(s: Scenario): ScenarioIssue[] {
  const issues: ScenarioIssue[] = [];
  const dup = (list: { key: string }[], where: string, what: string) => {
    const seen = new Map<string, number>();
    list.forEach(({ key }, n) => {
      if (seen.has(key))
        issues.push({ path: `${where}[${n}].name`, message: `duplicate ${what} "${key}" (also at ${where}[${seen.get(key)}])` });
      else seen.set(key, n);
    });
  };
  dup(
    s.workloads.map((w) => ({ key: w.name })),
    'workloads',
    'workload name',
  );
  dup(
    s.mesh.services.map((v) => ({ key: `${v.namespace}/${v.name}` })),
    'mesh.services',
    'Service',
  );
  dup(
    s.mesh.serviceEntries.map((v) => ({ key: `${v.namespace}/${v.name}` })),
    'mesh.serviceEntries',
    'ServiceEntry',
  );
  dup(
    s.mesh.endpoints.map((v) => ({ key: `${v.namespace}/${v.name}` })),
    'mesh.endpoints',
    'Endpoints',
  );
  dup(
    s.externalServers.map((v) => ({ key: v.name })),
    'externalServers',
    'external server name',
  );
  dup(
    s.probes.map((p) => ({ key: p.name })),
    'probes',
    'probe name',
  );
  dup(
    s.workloads.map((w) => ({ key: w.ip })),
    'workloads',
    'pod IP',
  );

  s.workloads.forEach((w, n) => {
    if (!cidrContains(s.lab.podCIDR, w.ip)) {
      issues.push({ path: `workloads[${n}].ip`, message: `expected an address inside lab.podCIDR ${s.lab.podCIDR}, got ${w.ip}` });
    } else {
      const why = unusableHostAddress(w.ip, s.lab.podCIDR);
      if (why) issues.push({ path: `workloads[${n}].ip`, message: `expected a host address of ${s.lab.podCIDR}, got ${w.ip} (${why})` });
    }
    for (const [key, value] of Object.entries(w.annotations)) {
      const kind = /^traffic\.sidecar\.istio\.io\/(include|exclude)OutboundIPRanges$/.exec(key)?.[1];
      if (!kind) continue;
      // istio-iptables accepts "*" only for the include list.
      const bad = value
        .split(',')
        .filter(Boolean)
        .find((c) => !(isCidr(c) || (kind === 'include' && c === '*')));
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
      const path = `externalServers[${n}].addresses[${k}]`;
      if (cidrContains(s.lab.podCIDR, a)) issues.push({ path, message: `expected an address outside the pod CIDR ${s.lab.podCIDR}` });
      const why = unusableHostAddress(a, `${a.split('.').slice(0, 3).join('.')}.0/24`);
      if (why) issues.push({ path, message: `expected a host address, got ${a} (${why})` });
      // The lab puts a server's addresses on one bridge, a /24 (harness/lab/topology.ts).
      const first = srv.addresses[0]!;
      if (k > 0 && !cidrContains(`${first}/24`, a))
        issues.push({ path, message: `expected an address in the same /24 as ${first} (the lab gives a server one subnet)` });
    }),
  );
  const listening = new Map<string, string>();
  s.externalServers.forEach((srv, n) => {
    for (const a of srv.addresses) {
      for (const port of srv.ports) {
        const other = listening.get(`${a}:${port}`);
        if (other && other !== srv.name)
          issues.push({ path: `externalServers[${n}].ports`, message: `${a}:${port} is also served by external server "${other}"` });
        listening.set(`${a}:${port}`, srv.name);
      }
    }
  });
  const workloadNames = new Set(s.workloads.map((w) => w.name));
  s.probes.forEach((p, n) => {
    if (!workloadNames.has(p.from)) {
      issues.push({
        path: `probes[${n}].from`,
        message: `expected one of the workloads (${[...workloadNames].join(', ')}), got "${p.from}"`,
      });
    }
  });
  s.assertions.forEach((a, n) => {
    if (!workloadNames.has(a.workload)) {
      issues.push({
        path: `assertions[${n}].workload`,
        message: `expected one of the workloads (${[...workloadNames].join(', ')}), got "${a.workload}"`,
      });
    }
  });
  return issues;
}
