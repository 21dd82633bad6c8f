/**
 * `egress-lab proxy-config KIND TARGET`: istioctl proxy-config views of a sidecar, from a kept lab
 * (a pod name) or a run's saved config_dump.json.
 */
import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { proxyConfigView, type ProxyConfigKind } from '../views/proxyConfig.ts';
import { loadConfigDump, PROXY_CONFIG_KINDS, type ProxyConfigOptions } from '../lab/configSource.ts';
import { callerPath, usageError } from '../core/cliArgs.ts';

async function proxyConfigAction(kind: string, target: string, opts: ProxyConfigOptions): Promise<void> {
  if (!PROXY_CONFIG_KINDS.includes(kind as ProxyConfigKind))
    usageError('proxy-config', `<kind> must be one of ${PROXY_CONFIG_KINDS.join(', ')}, got "${kind}"`);
  try {
    const dump = await loadConfigDump(existsSync(callerPath(target)) ? callerPath(target) : target, opts);
    process.stdout.write(proxyConfigView(kind as ProxyConfigKind, dump, opts, opts.output));
  } catch (err) {
    usageError('proxy-config', (err as Error).message);
  }
}

export function proxyConfigCommand(): Command {
  return new Command('proxy-config')
    .description('istioctl proxy-config views of a sidecar: from a kept lab (pod name) or a saved config_dump.json')
    .argument('<kind>', 'listener | cluster | route | endpoint')
    .argument('<target>', "a pod of a kept lab (e.g. sleep), or a path to a run's pods/<pod>/config_dump.json")
    .option('--port <n>', 'only this port', Number)
    .option('--address <ip>', 'listener or endpoint address')
    .option('--type <type>', 'listener type')
    .option('--fqdn <host>', 'cluster FQDN')
    .option('--direction <dir>', 'cluster direction')
    .option('--subset <subset>', 'cluster subset')
    .option('--name <name>', 'route name')
    .option('--cluster <name>', 'endpoint cluster')
    .option('--prefix <prefix>', 'the kept lab to read, when several are up')
    .addOption(new Option('-o, --output <format>', 'table or JSON').choices(['short', 'json']).default('short'))
    .action(proxyConfigAction);
}
