/**
 * istiod's feature flags (pilot/pkg/features and the rest of pkg/env), as the lab's own Istio build
 * registers them (`lab-istiod flags`): a scenario's `istiod.env` may set only flags this Istio has,
 * never the ones the lab fixes for upstream Envoy, and every run names the flags it sets beside
 * their defaults.
 */
import { execFileSync } from 'node:child_process';
import { closest, distance } from 'fastest-levenshtein';
import type { ScenarioIssue } from '../scenario/load.ts';

export interface IstiodFlag {
  name: string;
  default: string;
  description: string;
  deprecated?: boolean;
  /** Why the lab always sets it (istio/cmd/lab-istiod/main.go upstreamEnvoySwitches). */
  fixedByLab?: string;
}

const cache = new Map<string, IstiodFlag[]>();

/** The flags of this lab-istiod build; read once per binary. */
export function istiodFlags(labIstiod: string): IstiodFlag[] {
  let flags = cache.get(labIstiod);
  if (!flags) {
    flags = JSON.parse(
      execFileSync(labIstiod, ['flags'], { encoding: 'utf8', timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }),
    ) as IstiodFlag[];
    cache.set(labIstiod, flags);
  }
  return flags;
}

/** A scenario's istiod.env against the flags: unknown names and fixed flags are errors. */
export function istiodEnvIssues(env: Record<string, string>, flags: IstiodFlag[]): ScenarioIssue[] {
  const byName = new Map(flags.map((f) => [f.name, f]));
  return Object.keys(env).flatMap((name): ScenarioIssue[] => {
    const flag = byName.get(name);
    const path = `istiod.env.${name}`;
    const keys = ['istiod', 'env', name];
    if (!flag) {
      const near =
        flags.length > 0
          ? closest(
              name,
              flags.map((f) => f.name),
            )
          : undefined;
      const hint = near !== undefined && distance(name, near) <= Math.max(3, name.length / 4) ? `; did you mean ${near}?` : '';
      return [{ path, keys, message: `istiod has no flag ${name} (lab-istiod flags lists the ${flags.length} this Istio has)${hint}` }];
    }
    if (flag.fixedByLab) return [{ path, keys, message: `${name} cannot be changed in the lab: ${flag.fixedByLab}` }];
    return [];
  });
}

/** "NAME=value (Istio's default: d)" for each flag the scenario sets to other than its default. */
export function nonDefaultFlags(env: Record<string, string>, flags: IstiodFlag[]): string[] {
  const byName = new Map(flags.map((f) => [f.name, f]));
  return Object.entries(env)
    .filter(([name, value]) => byName.get(name)?.default !== value)
    .map(([name, value]) => `${name}=${value} (Istio's default: ${byName.get(name)?.default || '(empty)'})`);
}
