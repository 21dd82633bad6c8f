/**
 * A scenario as Kubernetes and Istio objects for the kind backend: Namespaces, one Deployment per
 * workload, Services and Endpoints, ServiceEntries, VirtualServices, and the outbound policy as a
 * namespace `Sidecar` (reference kind-istio.md §4: it takes effect without reinstalling Istio).
 * External servers are not here: on kind they are Docker containers (see addresses.ts).
 *
 * Every object is checked against the Kubernetes / Istio schemas (`kubernetes-models`,
 * `@kubernetes-models/istio`) before it is returned. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { parse as parseYaml, stringify } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Endpoints, Namespace, Service } from 'kubernetes-models/v1';
import {
  ServiceEntry as ServiceEntryV1beta1,
  Sidecar as SidecarV1beta1,
  VirtualService as VirtualServiceV1beta1,
  type IServiceEntry,
  type ISidecar,
  type IVirtualService,
} from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import type { Scenario, Workload } from '../scenario/schema.ts';
import { cidrContains, intToIp, ipToInt, parseCidr } from '../model/net.ts';
import { CLIENT_IMAGE, MARIADB_IMAGE, MESH_STATS_PREFIXES } from './clusterPlan.ts';

/** Label on every generated object: the backend finds (and deletes) what a scenario made by it. */
export const SCENARIO_LABEL = 'egress-lab.io/scenario';
/** On a Deployment: the hash of its pod template (see `podTemplateHash`). */
export const TEMPLATE_HASH_ANNOTATION = 'egress-lab.io/pod-template-hash';
/** On a Service: the ClusterIP the scenario wrote, which kind may not keep (see `clusterIpChanges`). */
export const LAB_CLUSTER_IP_ANNOTATION = 'egress-lab.io/lab-cluster-ip';
/** kind's default serviceSubnet (reference kind-istio.md §1). */
export const KIND_SERVICE_CIDR = '10.96.0.0/16';
/**
 * Namespaces the cluster (or Istio) already has and that outlive a scenario: no Namespace object is
 * generated for them (the backend deletes a scenario by its namespaces' label, and deleting
 * istio-system would remove Istio). Objects the scenario puts there still carry SCENARIO_LABEL.
 */
export const SHARED_NAMESPACES: ReadonlySet<string> = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage', 'istio-system']);
/** The kinds to delete by SCENARIO_LABEL across namespaces (for what lives in SHARED_NAMESPACES). */
export const LABELLED_KINDS = 'deployments.apps,services,endpoints,sidecars.networking.istio.io,serviceentries.networking.istio.io,virtualservices.networking.istio.io';
/** The uid probes run as in the lab, so that istio-iptables captures them (Envoy is 1337). */
export const CLIENT_UID = 1000;
export const MARIADB_ENV = { MARIADB_ROOT_PASSWORD: 'root', MARIADB_USER: 'lab', MARIADB_PASSWORD: 'lab-password', MARIADB_DATABASE: 'labdb' } as const;


export interface ManifestOptions {
  /** The image of every pod's `app` container (the probe client). */
  clientImage: string;
  serverImages: { mysql: string };
  /** proxyStatsMatcher.inclusionPrefixes: Envoy emits no per-cluster/listener stats otherwise (reference §3). */
  statsInclusionPrefixes: string[];
  /** The cluster's serviceSubnet; ClusterIPs outside it are left to kind. */
  serviceCIDR?: string;
}

/** What the kind backend, its --dry-run and scripts/render-manifests.ts all generate with: the pinned images and stats. */
export const KIND_MANIFEST_OPTIONS: ManifestOptions = { clientImage: CLIENT_IMAGE, serverImages: { mysql: MARIADB_IMAGE }, statsInclusionPrefixes: MESH_STATS_PREFIXES };

const ISTIO_API = 'networking.istio.io/v1';
const V1BETA1 = { ServiceEntry: ServiceEntryV1beta1, Sidecar: SidecarV1beta1, VirtualService: VirtualServiceV1beta1 } as const;
type IstioKind = keyof typeof V1BETA1;
interface IstioSpecs {
  ServiceEntry: NonNullable<IServiceEntry['spec']>;
  Sidecar: NonNullable<ISidecar['spec']>;
  VirtualService: NonNullable<IVirtualService['spec']>;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * An Istio object as `networking.istio.io/v1`, the version Istio 1.30 stores. The only published
 * models are generated from Istio 1.18's CRDs, which have v1beta1 (v1 arrived in 1.22 as a promotion
 * with the same spec), so `validate()` checks the v1beta1 twin of the same metadata and spec.
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
    return JSON.parse(JSON.stringify({ apiVersion: this.apiVersion, kind: this.kind, metadata: this.metadata, spec: this.spec }));
  }
}

export type KubeObject =
  | Namespace
  | Service
  | Endpoints
  | Deployment
  | IstioV1Object<'ServiceEntry'>
  | IstioV1Object<'Sidecar'>
  | IstioV1Object<'VirtualService'>;

/** The order objects are applied and printed in: what others refer to comes first. */
export const KIND_ORDER = ['Namespace', 'Sidecar', 'Service', 'Endpoints', 'ServiceEntry', 'VirtualService', 'Deployment'] as const;

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
    ]),
  ].sort();
}

/** The namespaces the scenario creates (and the backend deletes): all but SHARED_NAMESPACES. */
export function ownedNamespaces(s: Scenario): string[] {
  return scenarioNamespaces(s).filter((n) => !SHARED_NAMESPACES.has(n));
}

/**
 * Whether a scenario ClusterIP can be set as is on kind: "None", or an address inside the service
 * CIDR other than the two kind's cluster already holds (.1 the API server, .10 kube-dns).
 */
export function keepsClusterIP(clusterIP: string, serviceCIDR = KIND_SERVICE_CIDR): boolean {
  if (clusterIP === 'None') return true;
  if (!cidrContains(serviceCIDR, clusterIP)) return false;
  const base = ipToInt(parseCidr(serviceCIDR).ip);
  return clusterIP !== intToIp(base + 1) && clusterIP !== intToIp(base + 10);
}

export interface ClusterIpChange {
  namespace: string;
  name: string;
  /** What the scenario wrote; kind assigns another, which probes dialling this literal must use. */
  clusterIP: string;
}

/**
 * Services whose scenario ClusterIP kind will not keep (most lie in 10.233.0.0/18 or 10.68.0.0/16,
 * outside kind's 10.96.0.0/16). After `kubectl apply` the backend reads the assigned ones and passes
 * {scenario IP → assigned IP} to substituteAddresses to rewrite the probes that dial them.
 */
export function clusterIpChanges(s: Scenario, serviceCIDR = KIND_SERVICE_CIDR): ClusterIpChange[] {
  return s.mesh.services.filter((v) => !keepsClusterIP(v.clusterIP, serviceCIDR)).map((v) => ({ namespace: v.namespace, name: v.name, clusterIP: v.clusterIP }));
}

/** Stat names the expectations read that no inclusion prefix lets Envoy emit. */
export function uncoveredStats(s: Scenario, prefixes: string[]): string[] {
  const names = new Set(s.probes.flatMap((p) => Object.keys(p.expect.stats ?? {})));
  return [...names].filter((n) => !prefixes.some((p) => n.startsWith(p))).sort();
}

function meta(s: Scenario, name: string, namespace?: string, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return {
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    labels: { ...extra.labels, [SCENARIO_LABEL]: s.name },
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
  };
}

/** `proxy.istio.io/config` with the inclusion prefixes merged into whatever the scenario set. */
export function proxyConfigAnnotation(existing: string | undefined, prefixes: string[]): string {
  const base = (existing ? parseYaml(existing) : undefined) ?? {};
  if (typeof base !== 'object' || Array.isArray(base)) throw new Error(`proxy.istio.io/config is not a YAML mapping: ${existing}`);
  const matcher = { ...(base.proxyStatsMatcher ?? {}) };
  matcher.inclusionPrefixes = [...new Set([...(matcher.inclusionPrefixes ?? []), ...prefixes])];
  return stringify({ ...base, proxyStatsMatcher: matcher }, { lineWidth: 0 });
}

function podAnnotations(w: Workload, opts: ManifestOptions): Record<string, string> {
  const out: Record<string, string> = { ...w.annotations, 'sidecar.istio.io/inject': String(w.sidecar) };
  const existing = w.annotations['proxy.istio.io/config'];
  if (w.sidecar && (opts.statsInclusionPrefixes.length > 0 || existing)) out['proxy.istio.io/config'] = proxyConfigAnnotation(existing, opts.statsInclusionPrefixes);
  return out;
}

function deployment(s: Scenario, w: Workload, opts: ManifestOptions): Deployment {
  if (w.labels.app !== undefined && w.labels.app !== w.name) {
    throw new Error(`scenario ${s.name}: workload ${w.name} has label app=${w.labels.app}, but on kind pods are selected by app=${w.name}`);
  }
  const hostAliases = s.externalServers.filter((srv) => srv.hostnames.length > 0).map((srv) => ({ ip: srv.addresses[0]!, hostnames: [...srv.hostnames] }));
  const containers: NonNullable<NonNullable<NonNullable<Deployment['spec']>['template']['spec']>['containers']> = [
    {
      name: 'app',
      image: opts.clientImage,
      imagePullPolicy: 'IfNotPresent',
      command: ['sleep', 'infinity'],
      securityContext: { runAsUser: CLIENT_UID, runAsGroup: CLIENT_UID },
    },
  ];
  if (w.server?.kind === 'mysql') {
    const port = w.server.port;
    containers.push({
      name: 'mysql',
      image: opts.serverImages.mysql,
      imagePullPolicy: 'IfNotPresent',
      ...(port !== 3306 ? { args: [`--port=${port}`] } : {}),
      env: Object.entries(MARIADB_ENV).map(([name, value]) => ({ name, value })),
      ports: [{ name: 'mysql', containerPort: port, protocol: 'TCP' }],
      readinessProbe: { tcpSocket: { port }, periodSeconds: 2, failureThreshold: 60 },
    });
  }
  const template = {
    metadata: {
      labels: { app: w.name, ...w.labels, 'sidecar.istio.io/inject': String(w.sidecar) },
      annotations: podAnnotations(w, opts),
    },
    spec: {
      terminationGracePeriodSeconds: 0,
      ...(hostAliases.length > 0 ? { hostAliases } : {}),
      containers,
    },
  };
  return new Deployment({
    metadata: meta(s, w.name, w.namespace, { labels: { app: w.name }, annotations: { [TEMPLATE_HASH_ANNOTATION]: hashOf(template) } }),
    spec: {
      replicas: 1,
      // Recreate: never two pods of a workload, so "the pod of app=<name>" is always one pod.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { app: w.name } },
      template,
    },
  });
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
    ...(se.endpoints.length > 0 ? { endpoints: se.endpoints.map((ep) => ({ address: ep.address, ...(ep.ports ? { ports: { ...ep.ports } } : {}) })) } : {}),
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

/** The outbound policy for one namespace's workloads; no egress list, so the import scope stays *\/*. */
function sidecar(s: Scenario, namespace: string): IstioV1Object<'Sidecar'> {
  return new IstioV1Object('Sidecar', meta(s, 'default', namespace), { outboundTrafficPolicy: { mode: s.mesh.outboundTrafficPolicy } });
}

function namespaceObject(s: Scenario, name: string): Namespace {
  return new Namespace({ metadata: meta(s, name, undefined, { labels: { 'istio-injection': 'enabled' } }) });
}

export function scenarioManifests(s: Scenario, opts: ManifestOptions): KubeObject[] {
  const m = s.mesh;
  const objects: KubeObject[] = [
    ...ownedNamespaces(s).map((n) => namespaceObject(s, n)),
    ...[...new Set(s.workloads.map((w) => w.namespace))].sort().map((n) => sidecar(s, n)),
    ...m.services.map((v) => service(s, v, opts)),
    ...m.endpoints.map((e) => endpoints(s, e)),
    ...m.serviceEntries.map((se) => serviceEntry(s, se)),
    ...m.virtualServices.map((vs) => virtualService(s, vs)),
    ...s.workloads.map((w) => deployment(s, w, opts)),
  ];
  for (const o of objects) validateObject(o, s.name);
  return sortObjects(objects);
}

/** "Kind namespace/name" for messages. */
export function objectRef(o: KubeObject): string {
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
      const path = (x.instancePath ?? '').split('/').filter(Boolean).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '') || '(object)';
      const allowed = x.params?.allowedValues ? ` (allowed: ${x.params.allowedValues.join(', ')})` : '';
      return `${path}: ${x.message ?? 'invalid'}${allowed}`;
    })
    .join('; ');
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What the API server checks and the OpenAPI schema cannot: Service port names. */
function semanticChecks(o: KubeObject): void {
  if (o.kind !== 'Service') return;
  const ports = o.spec?.ports ?? [];
  const names = ports.map((p) => p.name ?? '');
  if (ports.length > 1 && names.some((n) => n === '')) throw new Error('spec.ports: every port needs a name when a Service has more than one');
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
    throw new Error(`scenario ${scenario}: ${objectRef(o)} (${o.apiVersion}) is not valid: ${describeSchemaError(e)}`);
  }
}

/** Stable order: by KIND_ORDER, then as generated. */
export function sortObjects<T extends { kind: string }>(objects: T[]): T[] {
  const rank = (k: string) => {
    const i = (KIND_ORDER as readonly string[]).indexOf(k);
    return i < 0 ? KIND_ORDER.length : i;
  };
  return objects.map((o, i) => ({ o, i })).sort((a, b) => rank(a.o.kind) - rank(b.o.kind) || a.i - b.i).map((x) => x.o);
}

/** Multi-document YAML for `kubectl apply -f -`, in KIND_ORDER. */
export function toYaml(objects: KubeObject[]): string {
  return sortObjects(objects)
    .map((o) => stringify(JSON.parse(JSON.stringify(o)), { lineWidth: 0 }))
    .join('---\n');
}

// ---------------------------------------------------------------------------------------------
// Restarts. istio-init's rules and the sidecar's bootstrap (proxyStatsMatcher) are computed when a
// pod is created, from its annotations and labels; an existing pod never sees a change. Kubernetes
// replaces a Deployment's pods when (and only when) its pod template changes, so comparing two
// generated templates tells the backend whether to wait for new pods and read their names again.

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

function hashOf(template: unknown): string {
  return createHash('sha256').update(JSON.stringify(canonical(JSON.parse(JSON.stringify(template))))).digest('hex').slice(0, 16);
}

/** A stable hash of a generated Deployment's pod template (key order does not matter). */
export function podTemplateHash(d: Deployment): string {
  return hashOf(d.spec?.template ?? {});
}

type Template = NonNullable<Deployment['spec']>['template'];

function diffKeys(kind: string, a: Record<string, string> = {}, b: Record<string, string> = {}, skip: string[] = []): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => !skip.includes(k) && a[k] !== b[k])
    .sort()
    .map((k) => (a[k] === undefined ? `${kind} ${k} added` : b[k] === undefined ? `${kind} ${k} removed` : `${kind} ${k} changed`));
}

/** What differs between two pod templates, in words ("sidecar on → off", "annotation X changed", ...). */
export function templateChanges(previous: Deployment, next: Deployment): string[] {
  const a: Template | undefined = previous.spec?.template;
  const b: Template | undefined = next.spec?.template;
  if (hashOf(a ?? {}) === hashOf(b ?? {})) return [];
  const changes: string[] = [];
  const inject = (t?: Template) => t?.metadata?.annotations?.['sidecar.istio.io/inject'] ?? t?.metadata?.labels?.['sidecar.istio.io/inject'] ?? 'true';
  if (inject(a) !== inject(b)) changes.push(`sidecar ${inject(a) === 'false' ? 'off' : 'on'} → ${inject(b) === 'false' ? 'off' : 'on'}`);
  changes.push(...diffKeys('annotation', a?.metadata?.annotations, b?.metadata?.annotations, ['sidecar.istio.io/inject']));
  changes.push(...diffKeys('label', a?.metadata?.labels, b?.metadata?.labels, ['sidecar.istio.io/inject']));
  const ca = new Map((a?.spec?.containers ?? []).map((c) => [c.name, c]));
  const cb = new Map((b?.spec?.containers ?? []).map((c) => [c.name, c]));
  for (const name of new Set([...ca.keys(), ...cb.keys()])) {
    const x = ca.get(name);
    const y = cb.get(name);
    if (!x || !y) changes.push(`container ${name} ${x ? 'removed' : 'added'}`);
    else if (x.image !== y.image) changes.push(`image of ${name}: ${x.image} → ${y.image}`);
    else if (hashOf(x) !== hashOf(y)) changes.push(`container ${name} changed`);
  }
  const rest = (t?: Template) => ({ ...t?.spec, containers: undefined });
  if (hashOf(rest(a)) !== hashOf(rest(b))) changes.push('pod spec changed');
  return changes.length > 0 ? changes : ['pod template changed'];
}

/** Whether applying `next` over `previous` replaces the pods (and so re-runs injection). */
export function needsRestart(previous: Deployment, next: Deployment): boolean {
  return templateChanges(previous, next).length > 0;
}
