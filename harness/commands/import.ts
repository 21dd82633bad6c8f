/**
 * `egress-lab import FILE... --pod NS/NAME --to HOST:PORT...`: a scenario from what a customer can
 * send (harness/import/). Bad input is an error naming the file and object, and nothing is
 * written; the scenario written is loaded back before the command says it is done. With --record
 * it then runs once in the lab (commands/run.ts, loaded only then).
 */
import { Command } from 'commander';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { isIPv4 } from 'node:net';
import { cidrContains } from '../core/net.ts';
import { customerObjects, ImportError, type CustomerObject } from '../import/customerObjects.ts';
import { readCustomerFiles } from '../import/customerFiles.ts';
import { relevantObjects, type Destination } from '../import/relevance.ts';
import { dnsLabel, importedScenario, podIp, proxyImageVersion } from '../import/toScenario.ts';
import { parseIstioVersion, SUPPORTED_TEXT } from '../scenario/istioVersion.ts';
import { loadScenarioFile, ScenarioError } from '../scenario/load.ts';
import { callerPath, usageError } from '../core/cliArgs.ts';
import { repeatable, runDirOption } from './options.ts';
import { guessServerKind, SERVER_KINDS, type ServerKind } from '../servers/registry.ts';

export interface ImportOptions {
  pod: string;
  to: string[];
  serverKind: string[];
  istio?: string;
  name?: string;
  output?: string;
  force: boolean;
}

export function parseDestination(text: string): Destination {
  const m = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new ImportError(`--to ${text}: expected HOST:PORT, e.g. 10.10.13.110:3306 or mysql.demo:3306`);
  return { host: m[1]!, port: Number(m[2]), text };
}

/** The ports an object lists (a Service's or a ServiceEntry's), as the customer wrote them. */
function portsOf(o: CustomerObject): Array<Record<string, unknown>> {
  return Array.isArray(o.body.ports) ? (o.body.ports as Array<Record<string, unknown>>) : [];
}

/** --server-kind HOST:PORT=KIND, or the guess from the port and the port names the objects give it. */
function serverKinds(destinations: Destination[], given: string[], objects: CustomerObject[]): Array<Destination & { kind: ServerKind }> {
  const told = new Map<string, ServerKind>();
  for (const g of given) {
    const [to, kind] = g.split('=');
    if (!to || !SERVER_KINDS.includes(kind as ServerKind))
      throw new ImportError(`--server-kind ${g}: expected HOST:PORT=${SERVER_KINDS.join('|')}`);
    told.set(to, kind as ServerKind);
  }
  return destinations.map((d) => {
    const names = objects
      .flatMap(portsOf)
      .filter((p) => Number(p.port ?? p.number) === d.port)
      .map((p) => (typeof p.name === 'string' ? p.name : ''));
    const kind = told.get(d.text) ?? guessServerKind(d.port, names);
    if (!kind)
      throw new ImportError(
        `--to ${d.text}: cannot tell what server answers on port ${d.port}; say it with --server-kind ${d.text}=${SERVER_KINDS.join('|')}`,
      );
    return { ...d, kind };
  });
}

function findPod(objects: CustomerObject[], ref: string): CustomerObject {
  const [ns, name] = ref.includes('/') ? ref.split('/', 2) : ['default', ref];
  const pod = objects.find((o) => o.kind === 'Pod' && o.meta.namespace === ns && o.meta.name === name);
  if (pod) return pod;
  const pods = objects.filter((o) => o.kind === 'Pod').map((o) => `${o.meta.namespace}/${o.meta.name}`);
  throw new ImportError(
    `--pod ${ref}: no such Pod in the input (${pods.length ? `it has ${pods.slice(0, 10).join(', ')}${pods.length > 10 ? ', ...' : ''}` : 'it has no Pods: send the pod YAML too'})`,
  );
}

/** The Istio version the scenario assumes: --istio, else the pod's proxy image tag; it must be one the lab models. */
function istioVersionFor(pod: CustomerObject, given: string | undefined): string {
  const text = given ?? proxyImageVersion(pod);
  if (!text)
    throw new ImportError(
      `--pod ${pod.meta.namespace}/${pod.meta.name}: its istio-proxy image has no version tag; say which Istio with --istio (${SUPPORTED_TEXT})`,
    );
  const v = parseIstioVersion(text);
  if (typeof v === 'string')
    throw new ImportError(
      `${given ? '--istio' : `the pod's istio-proxy image (Istio ${text})`}: ${v}; pass --istio with the closest one (the lab's real sidecar is current Istio whatever the scenario says)`,
    );
  return `${v.major}.${v.minor}`;
}

/** Writes the scenario; returns its path. Exits 2 on bad input, having written nothing. */
export async function importScenario(files: string[], opts: ImportOptions): Promise<string> {
  try {
    const input = customerObjects(await readCustomerFiles(files));
    const pod = findPod(input.objects, opts.pod);
    const destinations = serverKinds([...new Set(opts.to)].map(parseDestination), opts.serverKind, input.objects);
    const podNet = `${podIp(pod).split('.').slice(0, 3).join('.')}.0/24`;
    for (const d of destinations) {
      if (isIPv4(d.host) && cidrContains(podNet, d.host))
        throw new ImportError(
          `--to ${d.text}: inside the pod's /24 (${podNet}), where the lab has only the pod; other pods are not imported`,
        );
    }
    const rootNamespace = typeof input.meshConfig?.value.rootNamespace === 'string' ? input.meshConfig.value.rootNamespace : 'istio-system';
    const relevance = relevantObjects(input.objects, pod, destinations, rootNamespace);
    const name = dnsLabel(opts.name ?? `import-${pod.meta.name}`);
    const out = opts.output ?? callerPath(`${name}.yaml`);
    if (basename(out) !== `${name}.yaml`)
      throw new ImportError(`-o ${out}: a scenario file is named after the scenario: expected …/${name}.yaml (or --name)`);
    if (existsSync(out) && !opts.force) throw new ImportError(`${out} exists; pass --force to replace it`);
    const made = importedScenario({
      name,
      pod,
      destinations,
      relevance,
      ...(input.meshConfig ? { meshConfig: input.meshConfig.value } : {}),
      istio: istioVersionFor(pod, opts.istio),
      inputs: files,
    });
    // Written beside, loaded, then moved into place: a scenario that does not load replaces nothing.
    const draft = join(mkdtempSync(join(tmpdir(), 'egress-lab-import-')), `${name}.yaml`);
    writeFileSync(draft, made.yaml);
    try {
      loadScenarioFile(draft);
      copyFileSync(draft, out);
    } catch (err) {
      throw new ImportError(
        `the scenario made from the input does not load, so nothing was written (please report it with the input): ${(err as Error).message}`,
      );
    } finally {
      rmSync(dirname(draft), { recursive: true, force: true });
    }
    console.log(
      `kept ${relevance.kept.length} object(s) for ${pod.meta.namespace}/${pod.meta.name} to ${destinations.map((d) => `${d.text} (${d.kind})`).join(', ')}:`,
    );
    for (const k of relevance.kept)
      console.log(`  ${k.object.kind} ${k.object.meta.namespace}/${k.object.meta.name}: ${k.reasons.join('; ')}`);
    for (const d of relevance.dropped) console.log(`  left out ${d.what}: ${d.why}`);
    console.log(
      `  left out ${relevance.elsewhere} object(s) with nothing on the destinations' ports; never read: ${input.skipped.length} (${[...new Set(input.skipped.map((s) => s.why))].join('; ') || 'none'})`,
    );
    for (const n of made.notes) console.log(`note: ${n}`);
    console.log(`wrote ${out}`);
    return out;
  } catch (err) {
    if (err instanceof ImportError || err instanceof ScenarioError) usageError('import', err.message);
    throw err;
  }
}

async function importAction(files: string[], opts: ImportOptions & { record: boolean; runDir: string }): Promise<void> {
  const file = await importScenario(files.map(callerPath), opts);
  if (!opts.record) return;
  // Only --record needs the lab: without it, import starts without the lab's modules.
  const { oneRun, runSuiteCommand } = await import('./run.ts');
  const { loadAll } = await import('./scenarioFiles.ts');
  await runSuiteCommand(loadAll([file]), [file], oneRun(opts.runDir, { record: true }));
}

export function importCommand(): Command {
  return new Command('import')
    .description(
      "a scenario from a customer's cluster: kubectl get -o yaml output, the pod's YAML, the istio ConfigMap, or an istioctl bug-report archive",
    )
    .argument('<files...>', 'YAML/JSON files (lists or single objects) and .tar.gz bug-report archives')
    .requiredOption('--pod <ns/name>', 'the client pod whose traffic to reproduce')
    .requiredOption('--to <host:port>', 'a destination the pod dials (repeatable)', repeatable)
    .option(
      '--server-kind <host:port=kind>',
      'what answers at a destination: redis, mysql, http or https (default: guessed from the port)',
      repeatable,
      [] as string[],
    )
    .option('--istio <version>', "the Istio version the scenario assumes (default: the pod's istio-proxy image tag)")
    .option('--name <name>', 'the scenario name (default: import-<pod name>)')
    .option('-o, --output <file>', 'where to write it (default: ./<name>.yaml)', callerPath)
    .option('--force', 'replace the output file if it exists', false)
    .option('--record', 'then run it once in the lab and write what it saw as its expectations', false)
    .addOption(runDirOption())
    .action(importAction);
}
