/**
 * A scenario as Kubernetes and Istio objects: the one renderer both backends use. The kind backend
 * applies these objects (wrapping each workload's pod template in a Deployment); the netns lab's
 * control plane (istio/cmd/lab-istiod) reads the same objects, with each pod template made a Pod
 * and Endpoints mirrored into EndpointSlices (harness/istio/controlPlaneInputs.ts).
 *
 * Objects: Namespaces, Services, Endpoints, ServiceEntries, VirtualServices, DestinationRules,
 * Sidecars (the scenario's, plus one per workload namespace carrying the outbound policy, which is
 * how kind switches the policy without reinstalling Istio), and one pod template per workload.
 * Every object is checked against the Kubernetes / Istio schemas (`kubernetes-models`,
 * `@kubernetes-models/istio`) before it is returned. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { toGoYaml } from '../core/goYaml.ts';
import type { Deployment } from 'kubernetes-models/apps/v1';
import { Endpoints, Namespace, Pod, Service } from 'kubernetes-models/v1';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1';
import {
  DestinationRule as DestinationRuleV1beta1,
  ServiceEntry as ServiceEntryV1beta1,
  Sidecar as SidecarV1beta1,
  VirtualService as VirtualServiceV1beta1,
  type IDestinationRule,
  type IServiceEntry,
  type ISidecar,
  type IVirtualService,
} from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import type { Scenario, Workload } from '../scenario/schema.ts';
import { cidrContains, intToIp, ipToInt, parseCidr } from '../core/net.ts';
import { APP_UID } from '../core/uids.ts';
import { MESH_STATS_PREFIXES } from '../core/stats.ts';
import { MARIADB_ENV } from '../servers/mariadb.ts';
import { GivenObject, givenObjects } from './givenObjects.ts';
import { policyFromMeshConfig, policySidecarNamespaces } from '../scenario/outboundPolicy.ts';
import { isClusterScoped } from '../scenario/objectKinds.ts';
import { mysql } from '../servers/mysql.ts';
import { isMapping } from '../core/mapping.ts';

/** Label on every generated object: a backend finds (and deletes) what a scenario made by it. */
export const SCENARIO_LABEL = 'egress-lab.io/scenario';
/** On a Service: the ClusterIP the scenario wrote, which a cluster may not keep (see `keepsClusterIP`). */
export const LAB_CLUSTER_IP_ANNOTATION = 'egress-lab.io/lab-cluster-ip';
/**
 * Namespaces a cluster (or Istio) already has and that outlive a scenario: no Namespace object is
 * generated for them (kind deletes a scenario by its namespaces' label, and deleting istio-system
 * would remove Istio). Objects the scenario puts there still carry SCENARIO_LABEL.
 */
export const SHARED_NAMESPACES: ReadonlySet<string> = new Set([
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
  'local-path-storage',
  'istio-system',
]);

/** The probe client: one image with curl, nc, socat and openssl for every probe type's raw bytes. */
export const CLIENT_IMAGE = 'docker.io/nicolaka/netshoot:v0.13';

export interface ManifestOptions {
  /** The image of every pod's `app` container (the probe client). */
  clientImage: string;
  /** proxyStatsMatcher.inclusionPrefixes: Envoy emits no per-cluster/listener stats otherwise. */
  statsInclusionPrefixes: string[];
  /** The cluster's serviceSubnet, where ClusterIPs outside it are left to the cluster; unset keeps every ClusterIP. */
  serviceCIDR?: string;
}

/**
 * What both backends render a scenario's objects with (the kind backend adds its service subnet):
 * the pods lab-istiod reads in the netns lab name the images kind runs, so both istiods see one pod.
 */
export const MANIFEST_OPTIONS: ManifestOptions = { clientImage: CLIENT_IMAGE, statsInclusionPrefixes: MESH_STATS_PREFIXES };

const ISTIO_API = 'networking.istio.io/v1';
const V1BETA1 = {
  ServiceEntry: ServiceEntryV1beta1,
  Sidecar: SidecarV1beta1,
  VirtualService: VirtualServiceV1beta1,
  DestinationRule: DestinationRuleV1beta1,
} as const;
type IstioKind = keyof typeof V1BETA1;
interface IstioSpecs {
  ServiceEntry: NonNullable<IServiceEntry['spec']>;
  Sidecar: NonNullable<ISidecar['spec']>;
  VirtualService: NonNullable<IVirtualService['spec']>;
  DestinationRule: NonNullable<IDestinationRule['spec']>;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * An Istio object as `networking.istio.io/v1`, the version current Istio stores. The only published
 * models are generated from Istio 1.18's CRDs, which have v1beta1 (v1 arrived in 1.22 as a promotion
 * with the same spec), so `validate()` checks the v1beta1 twin of the same metadata and spec.
 * Istio's own validation runs on top of this (harness/istio/validation.ts).
 */
export class IstioV1Object<K extends IstioKind = IstioKind> {
  readonly apiVersion = ISTIO_API;
  constructor(
    readonly kind: K,
    public metadata: ObjectMeta,
    public spec: IstioSpecs[K],
  ) {}

  validate(): void {
    const Model = V1BETA1[this.kind] as unknown as new (data: unknown) => { validate(): void };
    new Model({ metadata: this.metadata, spec: this.spec }).validate();
  }

  toJSON(): { apiVersion: string; kind: K; metadata: ObjectMeta; spec: IstioSpecs[K] } {
    const json = { apiVersion: this.apiVersion, kind: this.kind, metadata: this.metadata, spec: this.spec };
    // A JSON round trip of plain data: the same object, less the fields that are undefined.
    return JSON.parse(JSON.stringify(json)) as typeof json;
  }
}

export type KubeObject =
  | Namespace
  | Service
  | Endpoints
  | EndpointSlice
  | Pod
  | Deployment
  | IstioV1Object<'ServiceEntry'>
  | IstioV1Object<'Sidecar'>
  | IstioV1Object<'VirtualService'>
  | IstioV1Object<'DestinationRule'>
  | GivenObject;

/** The order objects are applied and printed in: what others refer to comes first. */
export const KIND_ORDER = [
  'Namespace',
  'Sidecar',
  'Service',
  'Endpoints',
  'EndpointSlice',
  'ServiceEntry',
  'VirtualService',
  'DestinationRule',
  'Deployment',
  'Pod',
] as const;

/** Every namespace a scenario object lives in, sorted. */
export function scenarioNamespaces(s: Scenario): string[] {
  const m = s.mesh;
  return [
    ...new Set([
      ...s.workloads.map((w) => w.namespace),
      ...m.services.map((x) => x.namespace),
      ...m.endpoints.map((x) => x.namespace),
      ...m.serviceEntries.map((x) => x.namespace),
      ...m.virtualServices.map((x) => x.namespace),
      ...m.destinationRules.map((x) => x.namespace),
      ...m.sidecars.map((x) => x.namespace),
      ...s.objects.map((o) => (isClusterScoped(o.kind) ? undefined : o.metadata.namespace)).filter((n) => n !== undefined),
      ...s.objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name),
    ]),
  ].sort();
}

/** The namespaces the scenario creates (and kind deletes): all but SHARED_NAMESPACES. */
export function ownedNamespaces(s: Scenario): string[] {
  return scenarioNamespaces(s).filter((n) => !SHARED_NAMESPACES.has(n));
}

/** kind's default serviceSubnet. */
export const KIND_SERVICE_CIDR = '10.96.0.0/16';

/**
 * Whether a scenario ClusterIP can be set as is in a cluster with this service CIDR: "None", or an
 * address inside it other than the two a kind cluster already holds (.1 the API server, .10
 * kube-dns). Without a service CIDR (the netns lab), every ClusterIP is kept.
 */
export function keepsClusterIP(clusterIP: string, serviceCIDR: string | undefined): boolean {
  if (clusterIP === 'None' || serviceCIDR === undefined) return true;
  if (!cidrContains(serviceCIDR, clusterIP)) return false;
  const base = ipToInt(parseCidr(serviceCIDR).ip);
  return clusterIP !== intToIp(base + 1) && clusterIP !== intToIp(base + 10);
}

export function meta(s: Scenario, name: string, namespace?: string, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return {
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    labels: { ...extra.labels, [SCENARIO_LABEL]: s.name },
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
  };
}

/** `proxy.istio.io/config` with the inclusion prefixes merged into whatever the scenario set. */
export function proxyConfigAnnotation(existing: string | undefined, prefixes: string[]): string {
  const base: unknown = (existing ? parseYaml(existing) : undefined) ?? {};
  if (!isMapping(base)) throw new Error(`proxy.istio.io/config is not a YAML mapping: ${existing}`);
  const given: unknown = base.proxyStatsMatcher ?? {};
  if (!isMapping(given)) throw new Error(`proxy.istio.io/config: proxyStatsMatcher is not a YAML mapping: ${existing}`);
  const included: unknown = given.inclusionPrefixes ?? [];
  if (!Array.isArray(included)) throw new Error(`proxy.istio.io/config: proxyStatsMatcher.inclusionPrefixes is not a list: ${existing}`);
  const matcher = { ...given, inclusionPrefixes: [...new Set([...(included as unknown[]), ...prefixes])] };
  return toGoYaml({ ...base, proxyStatsMatcher: matcher });
}

function podAnnotations(w: Workload, opts: ManifestOptions): Record<string, string> {
  const out: Record<string, string> = { ...w.annotations, 'sidecar.istio.io/inject': String(w.sidecar) };
  const existing = w.annotations['proxy.istio.io/config'];
  if (w.sidecar && (opts.statsInclusionPrefixes.length > 0 || existing))
    out['proxy.istio.io/config'] = proxyConfigAnnotation(existing, opts.statsInclusionPrefixes);
  return out;
}

export type PodTemplate = NonNullable<Deployment['spec']>['template'];

/** A workload's pod as the scenario describes it, before Istio's injector sees it. */
export function podTemplate(s: Scenario, w: Workload, opts: ManifestOptions): PodTemplate {
  if (w.labels.app !== undefined && w.labels.app !== w.name) {
    throw new Error(`scenario ${s.name}: workload ${w.name} has label app=${w.labels.app}, but pods are selected by app=${w.name}`);
  }
  const hostAliases = s.externalServers
    .filter((srv) => srv.hostnames.length > 0)
    .map((srv) => ({ ip: srv.addresses[0]!, hostnames: [...srv.hostnames] }));
  const containers: NonNullable<NonNullable<PodTemplate['spec']>['containers']> = [
    {
      name: 'app',
      image: opts.clientImage,
      imagePullPolicy: 'IfNotPresent',
      command: ['sleep', 'infinity'],
      securityContext: { runAsUser: APP_UID, runAsGroup: APP_UID },
    },
  ];
  if (w.server?.kind === 'mysql') {
    const port = w.server.port;
    containers.push({
      name: 'mysql',
      image: mysql.image,
      imagePullPolicy: 'IfNotPresent',
      ...(port !== 3306 ? { args: [`--port=${port}`] } : {}),
      env: Object.entries(MARIADB_ENV).map(([name, value]) => ({ name, value })),
      ports: [{ name: 'mysql', containerPort: port, protocol: 'TCP' }],
      readinessProbe: { tcpSocket: { port }, periodSeconds: 2, failureThreshold: 60 },
    });
  }
  return {
    metadata: {
      labels: { app: w.name, ...w.labels, 'sidecar.istio.io/inject': String(w.sidecar) },
      annotations: podAnnotations(w, opts),
    },
    spec: {
      serviceAccountName: w.serviceAccount,
      terminationGracePeriodSeconds: 0,
      ...(hostAliases.length > 0 ? { hostAliases } : {}),
      containers,
    },
  };
}

function service(s: Scenario, v: Scenario['mesh']['services'][number], opts: ManifestOptions): Service {
  const keep = keepsClusterIP(v.clusterIP, opts.serviceCIDR);
  return new Service({
    metadata: meta(s, v.name, v.namespace, v.clusterIP !== 'None' ? { annotations: { [LAB_CLUSTER_IP_ANNOTATION]: v.clusterIP } } : {}),
    spec: {
      type: 'ClusterIP',
      ...(keep ? { clusterIP: v.clusterIP } : {}),
      ...(v.selector ? { selector: { ...v.selector } } : {}),
      ports: v.ports.map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        port: p.port,
        ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
        protocol: p.protocol,
        ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}),
      })),
    },
  });
}

function endpoints(s: Scenario, e: Scenario['mesh']['endpoints'][number]): Endpoints {
  return new Endpoints({
    metadata: meta(s, e.name, e.namespace),
    subsets: [
      {
        addresses: e.addresses.map((ip) => ({ ip })),
        ports: e.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: 'TCP' })),
      },
    ],
  });
}

function serviceEntry(s: Scenario, se: Scenario['mesh']['serviceEntries'][number]): IstioV1Object<'ServiceEntry'> {
  return new IstioV1Object('ServiceEntry', meta(s, se.name, se.namespace), {
    hosts: [...se.hosts],
    ...(se.addresses.length > 0 ? { addresses: [...se.addresses] } : {}),
    ports: se.ports.map((p) => ({
      number: p.number,
      // Istio's validation wants a port name; the protocol comes from `protocol`, never from the name.
      name: p.name || `port-${p.number}`,
      ...(p.protocol ? { protocol: p.protocol } : {}),
      ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
    })),
    resolution: se.resolution,
    location: se.location,
    exportTo: [...se.exportTo],
    ...(se.endpoints.length > 0
      ? { endpoints: se.endpoints.map((ep) => ({ address: ep.address, ...(ep.ports ? { ports: { ...ep.ports } } : {}) })) }
      : {}),
  });
}

function virtualService(s: Scenario, vs: Scenario['mesh']['virtualServices'][number]): IstioV1Object<'VirtualService'> {
  return new IstioV1Object('VirtualService', meta(s, vs.name, vs.namespace), {
    hosts: [...vs.hosts],
    exportTo: [...vs.exportTo],
    http: vs.http.map((h) => ({
      ...(h.timeout !== undefined ? { timeout: h.timeout } : {}),
      route: h.route.map((r) => ({
        destination: { host: r.destination.host, ...(r.destination.port ? { port: { number: r.destination.port.number } } : {}) },
        ...(r.weight !== undefined ? { weight: r.weight } : {}),
      })),
    })),
  });
}

/** The scenario's DestinationRules and Sidecars carry Istio's spec as written; Istio validates it. */
function passThrough<K extends 'DestinationRule' | 'Sidecar'>(
  s: Scenario,
  kind: K,
  o: { name: string; namespace: string; spec: Record<string, unknown> },
): IstioV1Object<K> {
  return new IstioV1Object(kind, meta(s, o.name, o.namespace), JSON.parse(JSON.stringify(o.spec)) as IstioSpecs[K]);
}

/**
 * The outbound policy as Sidecars (harness/scenario/outboundPolicy.ts says which namespaces get
 * one): a selector-less Sidecar `default` without egress (the import scope stays every host of
 * every namespace); a namespace-wide shorthand Sidecar without a policy gets it instead. Verbatim
 * Sidecars are never changed.
 */
function policySidecars(s: Scenario): IstioV1Object<'Sidecar'>[] {
  const policy = { mode: s.mesh.outboundTrafficPolicy };
  const own = s.mesh.sidecars.map((sc) => {
    const obj = passThrough(s, 'Sidecar', sc);
    if (!policyFromMeshConfig(s) && !sc.spec.workloadSelector && !sc.spec.outboundTrafficPolicy)
      obj.spec = { ...obj.spec, outboundTrafficPolicy: policy };
    return obj;
  });
  const generated = policySidecarNamespaces(s).map(
    (n) => new IstioV1Object('Sidecar', meta(s, 'default', n), { outboundTrafficPolicy: policy }),
  );
  return [...generated, ...own];
}

function namespaceObject(s: Scenario, name: string): Namespace {
  return new Namespace({ metadata: meta(s, name, undefined, { labels: { 'istio-injection': 'enabled' } }) });
}

/**
 * Everything but the workloads: namespaces and the mesh configuration, checked against the
 * published schemas unless `schemaCheck` is false (Istio's own validation is about to run anyway).
 */
export function meshObjects(s: Scenario, opts: ManifestOptions, schemaCheck = true): KubeObject[] {
  const m = s.mesh;
  const given = givenObjects(s.objects);
  const givenNamespaces = new Set(given.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name));
  const objects: KubeObject[] = [
    ...ownedNamespaces(s)
      .filter((n) => !givenNamespaces.has(n))
      .map((n) => namespaceObject(s, n)),
    ...policySidecars(s),
    ...m.services.map((v) => service(s, v, opts)),
    ...m.endpoints.map((e) => endpoints(s, e)),
    ...m.serviceEntries.map((se) => serviceEntry(s, se)),
    ...m.virtualServices.map((vs) => virtualService(s, vs)),
    ...m.destinationRules.map((dr) => passThrough(s, 'DestinationRule', dr)),
    ...given,
  ];
  // The scenario's own DestinationRules and Sidecars are left to Istio's validation
  // (harness/istio/validation.ts): the published models know Istio 1.18's fields only.
  if (schemaCheck)
    for (const o of objects)
      if (!(o instanceof GivenObject) && (!passThroughKinds.has(o.kind) || !isScenarioOwn(s, o))) validateObject(o, s.name);
  // Given objects are checked with their own schemas by scenario validation (harness/istio/validation.ts).
  return objects;
}

const passThroughKinds = new Set(['DestinationRule', 'Sidecar']);

function isScenarioOwn(s: Scenario, o: KubeObject): boolean {
  const md = o.metadata as ObjectMeta;
  const list = o.kind === 'DestinationRule' ? s.mesh.destinationRules : s.mesh.sidecars;
  return list.some((x) => x.name === md.name && x.namespace === md.namespace);
}

/** "Kind namespace/name" for messages. */
export function objectRef(o: { kind?: string; metadata?: unknown }): string {
  const md = o.metadata as ObjectMeta | undefined;
  return `${o.kind} ${md?.namespace ? `${md.namespace}/` : ''}${md?.name ?? '(unnamed)'}`;
}

interface SchemaError {
  instancePath?: string;
  message?: string;
  params?: { allowedValues?: unknown[] };
}

function describeSchemaError(e: unknown): string {
  const errors = (e as { errors?: SchemaError[] }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return e instanceof Error ? e.message : String(e);
  return errors
    .map((x) => {
      const path =
        (x.instancePath ?? '')
          .split('/')
          .filter(Boolean)
          .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
          .join('')
          .replace(/^\./, '') || '(object)';
      const allowed = x.params?.allowedValues ? ` (allowed: ${x.params.allowedValues.join(', ')})` : '';
      return `${path}: ${x.message ?? 'invalid'}${allowed}`;
    })
    .join('; ');
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What the API server checks and the OpenAPI schema cannot: Service port names. */
function semanticChecks(o: KubeObject): void {
  if (o instanceof GivenObject || o.kind !== 'Service') return;
  const ports = o.spec?.ports ?? [];
  const names = ports.map((p) => p.name ?? '');
  if (ports.length > 1 && names.some((n) => n === ''))
    throw new Error('spec.ports: every port needs a name when a Service has more than one');
  const bad = names.find((n) => n !== '' && (!DNS_LABEL.test(n) || n.length > 63));
  if (bad !== undefined) throw new Error(`spec.ports: port name "${bad}" is not a DNS label`);
  const dup = names.find((n, i) => n !== '' && names.indexOf(n) !== i);
  if (dup !== undefined) throw new Error(`spec.ports: duplicate port name "${dup}"`);
}

/** Checks one object against its schema; throws an Error naming the scenario, the object and the field. */
export function validateObject(o: KubeObject, scenario: string): void {
  try {
    o.validate();
    semanticChecks(o);
  } catch (e) {
    throw new Error(`scenario ${scenario}: ${objectRef(o)} (${o.apiVersion}) is not valid: ${describeSchemaError(e)}`, { cause: e });
  }
}

/** Stable order: by KIND_ORDER, then as generated. */
export function sortObjects<T extends { kind: string }>(objects: T[]): T[] {
  const rank = (k: string) => {
    const i = (KIND_ORDER as readonly string[]).indexOf(k);
    return i < 0 ? KIND_ORDER.length : i;
  };
  return objects
    .map((o, i) => ({ o, i }))
    .sort((a, b) => rank(a.o.kind) - rank(b.o.kind) || a.i - b.i)
    .map((x) => x.o);
}

/** Multi-document YAML (`kubectl apply -f -`, and what lab-istiod reads), in KIND_ORDER. */
export function toYaml(objects: Array<{ kind: string }>): string {
  return sortObjects(objects)
    .map((o) => toGoYaml(JSON.parse(JSON.stringify(o))))
    .join('---\n');
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** A stable hash of any JSON value (key order does not matter). */
export function hashOf(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(JSON.parse(JSON.stringify(value)))))
    .digest('hex')
    .slice(0, 16);
}
