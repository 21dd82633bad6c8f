/**
 * A fingerprint of the host's own network namespace: addresses, links, routes, rules, iptables and
 * nftables, and the forwarding sysctls. The lab must leave all of it unchanged; tests compare a
 * fingerprint taken before a run with one taken after.
 */
import { readFileSync } from 'node:fs';
import { run } from '../proc/exec.ts';

export type RootState = Record<string, string>;

/** Packet counters change on their own; everything else must not. */
function withoutCounters(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/g, '[*]'))
    .join('\n');
}

const SYSCTLS = ['net/ipv4/ip_forward', 'net/ipv4/conf/all/forwarding', 'net/ipv4/conf/all/route_localnet', 'net/ipv4/ip_local_port_range'];

export async function rootState(): Promise<RootState> {
  const state: RootState = {
    links: await run('ip', ['-o', 'link', 'show']).then((s) => s.replace(/ +link\/\S+ .*$/gm, '')),
    addresses: await run('ip', ['-o', 'addr', 'show']),
    routes: await run('ip', ['route', 'show', 'table', 'all']),
    rules: await run('ip', ['rule', 'show']),
    iptables: withoutCounters(await run('iptables-save', [])),
    nftables: await run('nft', ['list', 'ruleset']).catch(() => '(nft not installed)'),
  };
  for (const s of SYSCTLS) state[`sysctl ${s}`] = readFileSync(`/proc/sys/${s}`, 'utf8');
  return state;
}

/** Human-readable differences, empty when the two states are equal. */
export function diffRootState(before: RootState, after: RootState): string[] {
  return Object.keys({ ...before, ...after })
    .filter((k) => before[k] !== after[k])
    .map((k) => `${k} changed:\n--- before\n${before[k] ?? ''}\n+++ after\n${after[k] ?? ''}`);
}
