/**
 * Applies a LabPlan with iproute2 and removes it again. Every link is created from inside a lab
 * namespace (`ip -n ROUTER link add ... peer ... netns POD`), so nothing ever appears in the host's
 * own namespace, not even for an instant.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inNetns, run } from '../proc/exec.ts';
import type { LabPlan, NamespacePlan } from './topology.ts';

export const NETNS_ETC = '/etc/netns';

async function ipn(ns: string, ...args: string[]): Promise<void> {
  await run('ip', ['-n', ns, ...args]);
}

async function addNamespace(name: string): Promise<void> {
  await run('ip', ['netns', 'add', name]);
  await ipn(name, 'link', 'set', 'lo', 'up');
}

/** /etc/netns/NAME/{hosts,resolv.conf}: `ip netns exec` bind-mounts them over /etc for that namespace. */
function writeEtc(ns: NamespacePlan): void {
  const dir = join(NETNS_ETC, ns.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'hosts'), ns.hosts);
  writeFileSync(join(dir, 'resolv.conf'), ns.resolvConf);
}

async function wire(plan: LabPlan, ns: NamespacePlan): Promise<void> {
  await addNamespace(ns.name);
  writeEtc(ns);
  await ipn(plan.router, 'link', 'add', ns.routerIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name);
  await ipn(plan.router, 'link', 'set', ns.routerIf, 'master', ns.bridge, 'up');
  for (const a of ns.addresses) await ipn(ns.name, 'addr', 'add', a, 'dev', 'eth0');
  await ipn(ns.name, 'link', 'set', 'eth0', 'up');
  await ipn(ns.name, 'route', 'add', 'default', 'via', ns.gateway, 'dev', 'eth0');
}

/** `check` runs between steps and throws to stop set-up (an interrupt), so teardown never races it. */
export async function createLab(plan: LabPlan, step: (msg: string) => void, check: () => void = () => undefined): Promise<void> {
  step(`router namespace ${plan.router}`);
  await addNamespace(plan.router);
  await inNetns(plan.router, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  for (const b of plan.bridges) {
    await ipn(plan.router, 'link', 'add', b.name, 'type', 'bridge');
    await ipn(plan.router, 'addr', 'add', b.address, 'dev', b.name);
    await ipn(plan.router, 'link', 'set', b.name, 'up');
  }
  for (const ns of plan.namespaces) {
    check();
    step(`${ns.role} namespace ${ns.name} (${ns.addresses.join(', ')})`);
    await wire(plan, ns);
  }
  if (plan.dnat.length > 0) {
    const rules = plan.dnat.map((r) => `-A PREROUTING -d ${r.clusterIP}/32 -p tcp --dport ${r.port} -j DNAT --to-destination ${r.to}`);
    await inNetns(plan.router, 'iptables-restore', ['--noflush'], { input: `*nat\n${rules.join('\n')}\nCOMMIT\n` });
    step(`router: kube-proxy-like DNAT for ${plan.dnat.length} ClusterIP port(s)`);
  }
}

/** Lists the lab namespaces that exist, optionally only those of one run. */
export async function labNamespaces(prefix: string): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

async function namespacePids(ns: string): Promise<number[]> {
  const out = await run('ip', ['netns', 'pids', ns]).catch(() => '');
  return out.split(/\s+/).filter(Boolean).map(Number);
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** Kills whatever still runs in the namespaces, deletes them and their /etc/netns files. */
export async function destroyNamespaces(names: string[]): Promise<void> {
  for (const ns of names) signal(await namespacePids(ns), 'SIGTERM');
  const deadline = Date.now() + 3000;
  for (const ns of names) {
    while ((await namespacePids(ns)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    signal(await namespacePids(ns), 'SIGKILL');
  }
  for (const ns of names) {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    rmSync(join(NETNS_ETC, ns), { recursive: true, force: true });
  }
}
