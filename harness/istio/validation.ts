/**
 * Istio's own validation of a scenario's objects, before anything is created: the Istio objects the
 * backends would generate (harness/k8s/objects.ts) and every object the scenario gives verbatim go
 * through lab-istiod validate, built from the same istio.io/istio module as the control plane: the
 * CRDs' schemas and each kind's ValidateConfig (pkg/config/crd, pkg/config/validation), or a strict
 * decode for Kubernetes built-in kinds, which are also checked against the published schemas
 * (kubernetes-models). Each error comes back as a ScenarioError naming the file, the line and the object.
 */
import { ScenarioError, lineOfField, type LoadedScenario, type ScenarioIssue } from '../scenario/load.ts';
import { meshObjects, objectRef, sortObjects, toYaml, type KubeObject, MANIFEST_OPTIONS } from '../k8s/objects.ts';
import { GivenObject } from '../k8s/givenObjects.ts';
import { describeSource } from '../scenario/manifests.ts';
import { objectKey } from '../scenario/objectKinds.ts';
import { istioValidate, type IstioFinding } from './controlPlane.ts';
import { istiodEnvIssues, istiodFlags } from './istiodFlags.ts';
import { labMeshConfig } from './meshConfig.ts';
import { toGoYaml } from '../core/goYaml.ts';

const ISTIO_KINDS = new Set(['ServiceEntry', 'VirtualService', 'DestinationRule', 'Sidecar']);
const FIELD: Record<string, string> = {
  ServiceEntry: 'serviceEntries',
  VirtualService: 'virtualServices',
  DestinationRule: 'destinationRules',
  Sidecar: 'sidecars',
};

function istioObjects(loaded: LoadedScenario): KubeObject[] {
  // In the order toYaml writes them, which is the order of lab-istiod's findings.
  return sortObjects(
    meshObjects(loaded.scenario, MANIFEST_OPTIONS, false).filter((o) => o instanceof GivenObject || ISTIO_KINDS.has(o.kind)),
  );
}

/** Where a finding is reported: the scenario field and line, in the scenario or a manifest. */
interface Place {
  where: string;
  line?: number;
  file?: string;
}

function placeOf(loaded: LoadedScenario, o: KubeObject): Place {
  if (o instanceof GivenObject) {
    const i = loaded.scenario.objects.findIndex((x) => objectKey(x) === objectKey(o));
    const src = loaded.objectSources[i];
    if (src)
      return {
        where: describeSource(src),
        ...(src.line ? { line: src.line } : {}),
        ...(src.file !== loaded.file ? { file: src.file } : {}),
      };
  }
  const path = sourcePath(loaded, o);
  const line = lineOfField(loaded, path);
  return { where: path.map((p, n) => (typeof p === 'number' ? `[${p}]` : n === 0 ? p : `.${p}`)).join(''), ...(line ? { line } : {}) };
}

/** Built-in Kubernetes kinds given verbatim, against the published schemas. */
function builtInSchemaIssues(loaded: LoadedScenario, objects: KubeObject[]): ScenarioIssue[] {
  return objects.flatMap((o) => {
    if (!(o instanceof GivenObject)) return [];
    try {
      o.validate();
      return [];
    } catch (e) {
      const p = placeOf(loaded, o);
      return [
        {
          path: p.where,
          message: `${objectRef(o)}: the Kubernetes schema: ${(e as Error).message.split('\n')[0]}`,
          ...(p.line ? { line: p.line } : {}),
          ...(p.file ? { file: p.file } : {}),
        },
      ];
    }
  });
}

/** Where in the scenario a generated object comes from: its list entry, or the outbound policy for generated Sidecars. */
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
    const { where, line, file } = placeOf(loaded, o);
    const by = o instanceof GivenObject && o.home === 'kubernetes' ? 'the Kubernetes types' : "Istio's validation";
    for (const e of f.errors)
      errors.push({ path: where, message: `${objectRef(o)}: ${by}: ${e}`, ...(line ? { line } : {}), ...(file ? { file } : {}) });
    for (const w of f.warnings)
      warnings.push(`${file ?? loaded.file}${line ? `:${line}` : ''}: ${where}: ${objectRef(o)}: Istio's validation warns: ${w}`);
  });
  return { errors, warnings };
}

export interface IstioVerdict {
  /** One ScenarioError per scenario Istio rejected, with every error of it. */
  failed: ScenarioError[];
  warnings: string[];
}

/**
 * The mesh config lab-istiod will read, as a document of the validate stream (istio/cmd/lab-istiod
 * mesh.go): only for a scenario that gives meshConfig, since the lab's own is Istio's defaults plus
 * what upstream Envoy needs.
 */
function meshDocument(l: LoadedScenario): string {
  if (Object.keys(l.scenario.meshConfig).length === 0) return '';
  return toGoYaml({
    apiVersion: 'egress-lab.io/v1',
    kind: 'MeshConfig',
    metadata: { name: 'mesh' },
    mesh: labMeshConfig(l.scenario).yaml,
  });
}

function meshIssues(l: LoadedScenario, f: IstioFinding | undefined): { errors: ScenarioIssue[]; warnings: string[] } {
  const line = lineOfField(l, ['meshConfig']);
  const at = `${l.file}${line ? `:${line}` : ''}: meshConfig`;
  return {
    errors: (f?.errors ?? []).map((e) => ({ path: 'meshConfig', message: `Istio's mesh config: ${e}`, ...(line ? { line } : {}) })),
    warnings: (f?.warnings ?? []).map((w) => `${at}: Istio's mesh config validation warns: ${w}`),
  };
}

/** Validates every scenario with one lab-istiod call. */
export async function validateWithIstio(labIstiod: string, scenarios: LoadedScenario[]): Promise<IstioVerdict> {
  const each = scenarios.map((l) => ({ l, objects: istioObjects(l), mesh: meshDocument(l) }));
  const stream = each
    .flatMap((e) => [e.mesh, toYaml(e.objects)])
    .filter((y) => y.trim() !== '')
    .join('---\n');
  const findings = stream ? await istioValidate(labIstiod, stream) : [];
  const flags = each.some((e) => Object.keys(e.l.scenario.istiod.env).length > 0) ? istiodFlags(labIstiod) : [];
  let at = 0;
  const verdict: IstioVerdict = { failed: [], warnings: [] };
  for (const { l, objects, mesh } of each) {
    const meshFinding = mesh ? findings[at++] : undefined;
    const mine = findings.slice(at, at + objects.length);
    at += objects.length;
    const r = issuesOf(l, objects, mine);
    const m = meshIssues(l, meshFinding);
    verdict.warnings.push(...m.warnings, ...r.warnings);
    const env = istiodEnvIssues(l.scenario.istiod.env, flags).map((i) => ({ ...i, line: lineOfField(l, i.keys ?? []) }));
    const errors = [...env, ...m.errors, ...builtInSchemaIssues(l, objects), ...r.errors];
    if (errors.length > 0) verdict.failed.push(new ScenarioError(l.file, errors));
  }
  return verdict;
}
