/**
 * What a customer sent, as checked objects: the output of `kubectl get ... -o yaml` (a List), pod
 * YAML, the `istio` ConfigMap, or the YAML files of an `istioctl bug-report` archive. Each object
 * is checked against its Kubernetes or Istio schema (`kubernetes-models`, `@kubernetes-models/istio`)
 * and a bad one is an error naming the file, the object and the field. Secrets are never read;
 * ConfigMaps other than Istio's mesh config are dropped (they may hold certificates). Each object
 * is kept as sent, less what the API server sets (metadata such as uid and managedFields, status)
 * and the last-applied annotation. Pure: no I/O.
 */
import { Endpoints, Pod, Service } from 'kubernetes-models/v1';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1';
import { DestinationRule, ServiceEntry, Sidecar, VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { parse as parseYaml } from 'yaml';
import { isMapping as isObj } from '../core/mapping.ts';

/** One YAML or JSON document of an input file. */
export interface InputDocument {
  file: string;
  value: unknown;
}

export type ImportedKind =
  'Pod' | 'Service' | 'Endpoints' | 'EndpointSlice' | 'ServiceEntry' | 'VirtualService' | 'DestinationRule' | 'Sidecar';

export interface Meta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A checked object, with where it came from. */
export interface CustomerObject {
  /** As sent: "v1", "networking.istio.io/v1alpha3". */
  apiVersion: string;
  kind: ImportedKind;
  meta: Meta;
  /**
   * metadata as sent, less what the API server sets (SERVER_METADATA) and the last-applied
   * annotation; its namespace is always there ("default" when the object had none, as kubectl puts it).
   */
  metadata: Record<string, unknown>;
  /** spec (and for Endpoints/EndpointSlices their top-level fields), as sent. */
  body: Record<string, unknown>;
  /** "objects.yaml item 12". */
  source: string;
}

export interface CustomerObjects {
  objects: CustomerObject[];
  /** The mesh config from the istio ConfigMap (data.mesh), parsed, if one was sent. */
  meshConfig?: { value: Record<string, unknown>; source: string };
  /** What was not read, and why (Secrets, other ConfigMaps, kinds that cannot affect egress). */
  skipped: Array<{ what: string; why: string }>;
}

export class ImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportError';
  }
}

const ISTIO_GROUP = /^networking\.istio\.io\/v1(alpha3|beta1)?$/;
type Validator = new (data: never) => { validate(): void };
const MODELS: Record<ImportedKind, { api: RegExp; model: Validator }> = {
  Pod: { api: /^v1$/, model: Pod },
  Service: { api: /^v1$/, model: Service },
  Endpoints: { api: /^v1$/, model: Endpoints },
  EndpointSlice: { api: /^discovery\.k8s\.io\/v1$/, model: EndpointSlice },
  ServiceEntry: { api: ISTIO_GROUP, model: ServiceEntry },
  VirtualService: { api: ISTIO_GROUP, model: VirtualService },
  DestinationRule: { api: ISTIO_GROUP, model: DestinationRule },
  Sidecar: { api: ISTIO_GROUP, model: Sidecar },
};

const strMap = (v: unknown): Record<string, string> =>
  isObj(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)])) : {};

/** A List's items (Lists inside Lists too), or the object itself. */
function itemsOf(value: unknown, source: string): Array<{ value: unknown; source: string }> {
  if (isObj(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
    return value.items.flatMap((v, i) => itemsOf(v, `${source}${source.includes(' item ') ? '.' : ' item '}${i}`));
  }
  return [{ value, source }];
}

/** A field of an unchecked object, for an error message: text as it is, anything else as JSON. */
const shown = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? '?'));

function refOf(o: Record<string, unknown>): string {
  const m = isObj(o.metadata) ? o.metadata : {};
  return `${shown(o.kind ?? '?')} ${m.namespace ? `${shown(m.namespace)}/` : ''}${shown(m.name ?? '?')}`;
}

/** The annotation kubectl apply writes: the last applied configuration, which can carry anything, secrets included. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What the API server (and its controllers) set in metadata, not the object's author: dropped, so
 * that an object reads as it would be applied. creationTimestamp stays: istiod resolves conflicts
 * between objects by it (the oldest Service, VirtualService or Sidecar wins, pilot/pkg/model).
 */
export const SERVER_METADATA = [
  'uid',
  'resourceVersion',
  'generation',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'ownerReferences',
  'selfLink',
];

/** An object's metadata as its author wrote it: without what the API server set, or the last-applied annotation. */
function authoredMetadata(o: Record<string, unknown>, meta: Meta): Record<string, unknown> {
  const m = isObj(o.metadata) ? o.metadata : {};
  const out: Record<string, unknown> = { ...m, name: meta.name, namespace: meta.namespace };
  for (const k of SERVER_METADATA) delete out[k];
  if (isObj(m.labels)) out.labels = meta.labels;
  if (isObj(m.annotations)) {
    // Annotations that held only the last-applied one are gone with it.
    if (Object.keys(meta.annotations).length === 0 && LAST_APPLIED in m.annotations) delete out.annotations;
    else out.annotations = meta.annotations;
  }
  return out;
}

/**
 * The fields relevance and the scenario read. Annotations that are the last applied configuration
 * are dropped here.
 */
function metaOf(o: Record<string, unknown>, source: string): Meta {
  const m = isObj(o.metadata) ? o.metadata : {};
  if (typeof m.name !== 'string' || m.name === '') throw new ImportError(`${source} (${refOf(o)}): metadata.name: expected a name`);
  const annotations = strMap(m.annotations);
  delete annotations[LAST_APPLIED];
  return {
    name: m.name,
    namespace: typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : 'default',
    labels: strMap(m.labels),
    annotations,
  };
}

function validate(kind: ImportedKind, o: Record<string, unknown>, source: string): void {
  const { api, model } = MODELS[kind];
  if (typeof o.apiVersion !== 'string' || !api.test(o.apiVersion)) {
    throw new ImportError(
      `${source} (${refOf(o)}): apiVersion: expected ${api.source.replace(/[\\^$]/g, '')}, got ${JSON.stringify(o.apiVersion)}`,
    );
  }
  try {
    // The published Istio models are v1beta1's schema; v1 and v1alpha3 have the same spec.
    new model({
      ...o,
      apiVersion:
        kind === 'Pod' || kind === 'Service' || kind === 'Endpoints' || kind === 'EndpointSlice'
          ? o.apiVersion
          : 'networking.istio.io/v1beta1',
    } as never).validate();
  } catch (err) {
    const msg = (err as Error).message.replace(/\bdata\//g, '').replace(/\//g, '.');
    throw new ImportError(`${source} (${refOf(o)}): ${msg}`);
  }
}

/**
 * The mesh config is the ConfigMap `istio` (or `istio-<revision>`) with a data.mesh, which istiod
 * reads (pkg/config/mesh/kubemesh); istio-ca-root-cert and the like, in every namespace, are not.
 */
function isMeshConfigMap(o: Record<string, unknown>): boolean {
  const m = isObj(o.metadata) ? o.metadata : {};
  const data = isObj(o.data) ? o.data : {};
  return typeof m.name === 'string' && /^istio(-[a-z0-9-]+)?$/.test(m.name) && m.name !== 'istio-ca-root-cert' && 'mesh' in data;
}

/** The mesh config is YAML inside the ConfigMap's data.mesh. */
function meshConfigOf(o: Record<string, unknown>, source: string): Record<string, unknown> {
  const data = isObj(o.data) ? o.data : {};
  if (typeof data.mesh !== 'string') throw new ImportError(`${source} (${refOf(o)}): data.mesh: expected the mesh config as YAML text`);
  try {
    const v = parseYaml(data.mesh) as unknown;
    if (v === null || v === undefined) return {};
    if (!isObj(v)) throw new Error('not a mapping');
    return v;
  } catch (err) {
    throw new ImportError(`${source} (${refOf(o)}): data.mesh: expected a YAML mapping: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** An object's own fields: all but apiVersion, kind, metadata, status and spec (Endpoints and EndpointSlices have no spec). */
const OBJECT_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'status', 'spec']);
const topLevelFields = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !OBJECT_FIELDS.has(k)));

/** Reads every document; throws an ImportError at the first malformed object, naming it. */
export function customerObjects(docs: InputDocument[]): CustomerObjects {
  const out: CustomerObjects = { objects: [], skipped: [] };
  for (const doc of docs) {
    for (const { value, source } of itemsOf(doc.value, doc.file)) {
      if (value === null || value === undefined) continue;
      if (!isObj(value) || typeof value.kind !== 'string')
        throw new ImportError(`${source}: expected a Kubernetes object with a kind, got ${JSON.stringify(value).slice(0, 80)}`);
      const kind = value.kind;
      if (kind === 'Secret') {
        out.skipped.push({ what: refOf(value), why: 'Secrets are never read' });
        continue;
      }
      if (kind === 'ConfigMap') {
        if (isMeshConfigMap(value)) {
          const m = metaOf(value, source);
          // istio (no revision) wins over istio-<revision>.
          if (m.name === 'istio' || out.meshConfig === undefined)
            out.meshConfig = { value: meshConfigOf(value, source), source: `${source} (${refOf(value)})` };
        } else out.skipped.push({ what: refOf(value), why: 'not the mesh config (ConfigMaps may hold certificates)' });
        continue;
      }
      if (!Object.hasOwn(MODELS, kind)) {
        out.skipped.push({ what: refOf(value), why: `a ${kind} does not decide where a sidecar sends egress traffic` });
        continue;
      }
      validate(kind as ImportedKind, value, source);
      const meta = metaOf(value, source);
      // The same object sent twice (a bug-report's dump and a pod's own YAML): the first one counts.
      const first = out.objects.find((o) => o.kind === kind && o.meta.namespace === meta.namespace && o.meta.name === meta.name);
      if (first) {
        out.skipped.push({ what: `${refOf(value)} in ${source}`, why: `a second copy (the one in ${first.source} is read)` });
        continue;
      }
      const { status, spec } = value;
      const body = kind === 'Pod' ? { ...(isObj(spec) ? spec : {}), status } : isObj(spec) ? spec : topLevelFields(value);
      out.objects.push({
        apiVersion: value.apiVersion as string,
        kind: kind as ImportedKind,
        meta,
        metadata: authoredMetadata(value, meta),
        body,
        source,
      });
    }
  }
  return out;
}
