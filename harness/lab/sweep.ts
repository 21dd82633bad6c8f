/**
 * `lab down`: removes whatever a kept, failed or crashed run left behind, found by the run prefix:
 * the runs' cgroups (every process a run started is in one, so killing the cgroup kills them all,
 * even those whose namespace is gone), then namespaces and their /etc/netns directories.
 */
import { readdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { destroyNamespaces, labNamespaces, NETNS_ETC } from './netns.ts';
import { LAB_PREFIX } from './topology.ts';
import { sweepCgroups } from '../proc/cgroup.ts';

/** What a run leaves in /tmp: `<prefix>-<name>` with a run prefix of six hex digits. */
const RUN_SCRATCH = new RegExp(`^${LAB_PREFIX}[0-9a-f]{6}-`);

export interface SweepReport {
  cgroups: string[];
  namespaces: string[];
  etcDirs: string[];
}

export async function sweep(prefix: string = LAB_PREFIX): Promise<SweepReport> {
  if (!prefix.startsWith(LAB_PREFIX)) throw new Error(`refusing to sweep "${prefix}": lab prefixes start with "${LAB_PREFIX}"`);
  const cgroups = await sweepCgroups(prefix);
  const namespaces = await labNamespaces(prefix);
  await destroyNamespaces(namespaces);
  // /etc/netns entries whose namespace is already gone (e.g. the run died between the two steps).
  const etcDirs = existsSync(NETNS_ETC) ? readdirSync(NETNS_ETC).filter((d) => d.startsWith(prefix)) : [];
  for (const d of etcDirs) rmSync(join(NETNS_ETC, d), { recursive: true, force: true });
  // Sockets and scratch datadirs of killed servers: /tmp/<run prefix>-*.
  for (const f of readdirSync(tmpdir()).filter((n) => n.startsWith(prefix) && RUN_SCRATCH.test(n)))
    rmSync(join(tmpdir(), f), { force: true, recursive: true });
  return { cgroups, namespaces, etcDirs };
}
