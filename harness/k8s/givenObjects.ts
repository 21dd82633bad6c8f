/**
 * The objects a scenario gives verbatim (`objects:` and `manifests:`), as the backends pass them on:
 * unchanged, except that a namespaced object without a namespace is in `default`, as kubectl puts it.
 * Kubernetes built-in kinds are checked against the published schemas (kubernetes-models) here;
 * every kind, built-in or Istio's, also goes through lab-istiod validate (the CRDs' schemas and
 * Istio's validation of the pinned module, or a strict decode into the Kubernetes types).
 */
import { Endpoints, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1';
import type { VerbatimObject } from '../scenario/schema.ts';
import { kindVerdict, type ObjectHome } from '../scenario/objectKinds.ts';

type Validating = new (data: never) => { validate(): void };

/** The published schema of each Kubernetes built-in kind the lab reads (scenario/objectKinds.ts). */
const BUILT_IN_MODELS: Record<string, Validating> = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/Endpoints': Endpoints,
  'v1/ServiceAccount': ServiceAccount,
  'v1/Secret': Secret,
  'discovery.k8s.io/v1/EndpointSlice': EndpointSlice,
};

export class GivenObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: VerbatimObject['metadata'];
  readonly home: ObjectHome;
  /** Marks the object as the scenario's own, for code that handles generated and given objects alike. */
  readonly given = true;

  constructor(private readonly data: VerbatimObject) {
    this.apiVersion = data.apiVersion;
    this.kind = data.kind;
    this.metadata = data.metadata;
    const verdict = kindVerdict(data.apiVersion, data.kind);
    // The loader refused every other kind (scenario/load.ts objectChecks).
    if (!('home' in verdict)) throw new Error(`${data.apiVersion} ${data.kind}: ${verdict.refused}`);
    this.home = verdict.home;
  }

  validate(): void {
    const Model = BUILT_IN_MODELS[`${this.apiVersion}/${this.kind}`];
    if (Model) new Model(structuredClone(this.data) as never).validate();
  }

  /** The object as written (a deep copy). */
  toJSON(): VerbatimObject {
    return structuredClone(this.data);
  }
}

export function givenObjects(objects: VerbatimObject[]): GivenObject[] {
  return objects.map((o) => new GivenObject(o));
}
