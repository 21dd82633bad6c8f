/**
 * Istio's own validation of a scenario's Istio objects, before anything is created: the objects the
 * backends would apply (harness/k8s/objects.ts) go through lab-istiod validate, which runs each
 * schema's ValidateConfig from the same istio.io/istio module the control plane is built from
 * (pkg/config/validation), and each error comes back as a ScenarioError naming the scenario file,
 * the line and the object.
 */
import { ScenarioError, lineOfField, type LoadedScenario, type ScenarioIssue } from '../scenario/load.ts';
import { meshObjects, objectRef, sortObjects, toYaml, type KubeObject, MANIFEST_OPTIONS } from '../k8s/objects.ts';
import { istioValidate, type IstioFinding } from './controlPlane.ts';

const ISTIO_KINDS = new Set(['ServiceEntry', 'VirtualService', 'DestinationRule', 'Sidecar']);
const FIELD: Record<string, string> = {
  ServiceEntry: 'serviceEntries',
  VirtualService: 'virtualServices',
  DestinationRule: 'destinationRules',
  Sidecar: 'sidecars',
};

function istioObjects(loaded: LoadedScenario): KubeObject[] {
  // In the order toYaml writes them, which is the order of lab-istiod's findings.
  return sortObjects(meshObjects(loaded.scenario, MANIFEST_OPTIONS, false).filter((o) => ISTIO_KINDS.has(o.kind)));
}

/** Where in the scenario an object comes from: its list entry, or the outbound policy for generated Sidecars. */
function sourcePath(loaded: LoadedScenario, o: KubeObject): (string | number)[] {
  const md = o.metadata as { name?: string; namespace?: string };
  const list = loaded.scenario.mesh[FIELD[o.kind] as 'serviceEntries'] as Array<{ name: string; namespace: string }>;
  const i = list.findIndex((x) => x.name === md.name && x.namespace === md.namespace);
  return i >= 0 ? ['mesh', FIELD[o.kind]!, i] : ['mesh', 'outboundTrafficPolicy'];
}

function issuesOf(
  loaded: LoadedScenario,
  objects: KubeObject[],
  findings: IstioFinding[],
): { errors: ScenarioIssue[]; warnings: string[] } {
  const errors: ScenarioIssue[] = [];
  const warnings: string[] = [];
  findings.forEach((f, i) => {
    const o = objects[i]!;
    const path = sourcePath(loaded, o);
    const where = path.map((p, n) => (typeof p === 'number' ? `[${p}]` : n === 0 ? p : `.${p}`)).join('');
    const line = lineOfField(loaded, path);
    for (const e of f.errors) errors.push({ path: where, message: `${objectRef(o)}: Istio's validation: ${e}`, ...(line ? { line } : {}) });
    for (const w of f.warnings)
      warnings.push(`${loaded.file}${line ? `:${line}` : ''}: ${where}: ${objectRef(o)}: Istio's validation warns: ${w}`);
  });
  return { errors, warnings };
}

export interface IstioVerdict {
  /** One ScenarioError per scenario Istio rejected, with every error of it. */
  failed: ScenarioError[];
  warnings: string[];
}

/** Validates every scenario with one lab-istiod call. */
export async function validateWithIstio(labIstiod: string, scenarios: LoadedScenario[]): Promise<IstioVerdict> {
  const each = scenarios.map((l) => ({ l, objects: istioObjects(l) }));
  const stream = each
    .map((e) => toYaml(e.objects))
    .filter((y) => y.trim() !== '')
    .join('---\n');
  const findings = stream ? await istioValidate(labIstiod, stream) : [];
  let at = 0;
  const verdict: IstioVerdict = { failed: [], warnings: [] };
  for (const { l, objects } of each) {
    const mine = findings.slice(at, at + objects.length);
    at += objects.length;
    const r = issuesOf(l, objects, mine);
    verdict.warnings.push(...r.warnings);
    if (r.errors.length > 0) verdict.failed.push(new ScenarioError(l.file, r.errors));
  }
  return verdict;
}
