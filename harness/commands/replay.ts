/**
 * `egress-lab replay --config-dump FILE --to IP:PORT [--map FILE]`: the dump as a static
 * bootstrap, the mapping, and the scenario the lab runs (written next to the run directories),
 * then one run of it in the lab (commands/run.ts). Bad input is an error naming the file and
 * field, before anything is created.
 */
import { Command } from 'commander';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cidrContains } from '../core/net.ts';
import { join } from 'node:path';
import { isIPv4 } from 'node:net';
import { bootstrapFromDump, ReplayError } from '../replay/bootstrapFromDump.ts';
import { endpointRewrite, mappingLines, parseMapping, type ReplayMapping } from '../replay/mapping.ts';
import { replayScenarioName, replayScenarioYaml, unmappedEndpoints, type ReplayDestination } from '../replay/replayScenario.ts';
import { parseIstioVersion } from '../scenario/istioVersion.ts';
import { loadScenarioFile, ScenarioError, type LoadedScenario } from '../scenario/load.ts';
import { realParts, realPartsMissing } from '../istio/parts.ts';
import type { ReplayInput } from '../lab/replaySidecar.ts';
import { callerPath, usageError } from '../core/cliArgs.ts';
import { repeatable, runDirOption } from './options.ts';
import { oneRun, runSuiteCommand } from './run.ts';

export interface ReplayCliOptions {
  configDump: string;
  to: string[];
  map?: string;
  keep: boolean;
  runDir: string;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ReplayError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

function readJson(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ReplayError(`${file}: not JSON: ${(err as Error).message}`);
  }
}

function destination(text: string): ReplayDestination {
  const m = /^([\d.]+):(\d{1,5})$/.exec(text);
  if (!m || !isIPv4(m[1]!) || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new ReplayError(`--to ${text}: expected IP:PORT, the address the pod dials`);
  return { host: m[1]!, port: Number(m[2]), text };
}

/** The scenario says a modern Istio: the dump's if the lab models it, else the lab's own release. */
function scenarioIstio(dumpVersion: string | undefined, labRelease: string): string {
  const v = dumpVersion ? parseIstioVersion(dumpVersion.replace(/-.*$/, '')) : undefined;
  return v && typeof v !== 'string' && v.era === 'modern' ? `${v.major}.${v.minor}` : labRelease.replace(/-.*$/, '');
}

export function prepareReplay(opts: ReplayCliOptions): { loaded: LoadedScenario[]; input: ReplayInput } {
  try {
    const missing = realPartsMissing();
    if (missing) throw new ReplayError(`${missing} (replay runs the lab's Envoy and Istio's istio-iptables)`);
    const mapping: ReplayMapping = opts.map ? parseMapping(readText(opts.map), opts.map) : { servers: [] };
    const config = bootstrapFromDump(readJson(opts.configDump), endpointRewrite(mapping));
    const podNet = `${config.node.ip.split('.').slice(0, 3).join('.')}.0/24`;
    mapping.servers.forEach((srv, i) => {
      const at = srv.lab ?? srv.address;
      if (cidrContains(podNet, at))
        throw new ReplayError(
          `${opts.map}: servers.${i}: ${at} is inside the pod's /24 ${podNet}, where the lab has only the pod; give it a lab: address outside it`,
        );
    });
    const destinations = opts.to.map(destination);
    const dir = join(opts.runDir, 'replay-scenarios');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${replayScenarioName(config)}.yaml`);
    writeFileSync(
      file,
      replayScenarioYaml(
        config,
        mapping,
        destinations,
        scenarioIstio(config.node.istioVersion, realParts().versions.istioRelease),
        opts.configDump,
      ),
    );
    const lines = mappingLines(mapping);
    for (const e of unmappedEndpoints(config, mapping)) lines.push(`${e}: no lab server (not in --map); connections to it go nowhere`);
    let loaded: LoadedScenario;
    try {
      loaded = loadScenarioFile(file);
    } catch (err) {
      rmSync(file, { force: true });
      throw err;
    }
    return { loaded: [loaded], input: { config, dumpFile: opts.configDump, mapping: lines } };
  } catch (err) {
    if (err instanceof ReplayError || err instanceof ScenarioError) usageError('replay', err.message);
    throw err;
  }
}

async function replayAction(opts: ReplayCliOptions): Promise<void> {
  // The mapping is printed with the run's fidelity lines (harness/lab/replaySidecar.ts).
  const { loaded, input } = prepareReplay(opts);
  await runSuiteCommand(loaded, [loaded[0]!.file], oneRun(opts.runDir, { replay: input, cleanup: opts.keep ? 'never' : 'always' }));
}

export function replayCommand(): Command {
  return new Command('replay')
    .description(
      "run a customer's config dump in the lab's real Envoy, behind Istio's iptables in a pod namespace, and probe destinations through it",
    )
    .requiredOption('--config-dump <file>', "Envoy's /config_dump?include_eds or istioctl proxy-config all -o json", callerPath)
    .requiredOption('--to <ip:port>', 'a destination to probe through it (repeatable)', repeatable)
    .option('--map <file>', "which lab server answers at each of the customer's addresses (YAML; README: Replay)", callerPath)
    .option('--keep', 'leave the lab up afterwards', false)
    .addOption(runDirOption())
    .action(replayAction);
}
