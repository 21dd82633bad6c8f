/**
 * The scenario file format, as a zod schema. A scenario is everything a backend needs to bring an
 * incident up (workloads, external servers, mesh config) and everything the runner needs to judge it
 * (probes with expectations). Field names follow Kubernetes/Istio where a resource has a counterpart,
 * so that the kind backend can turn the same file into manifests.
 */
import { z } from 'zod';
import {
  isTypeErrorClass,
  KIND_EXPECT_FIELDS,
  typeErrorClasses,
  typeExpectFields,
  PROBE_TYPE_NAMES,
  PROBE_TYPES,
  type TypedProbe,
  type ProbeTypeName,
} from '../probes/registry.ts';
import { isIPv4 } from 'node:net';
import { NAMED_OUTCOMES } from './outcomes.ts';
import { port } from '../probes/probeType.ts';
import { SERVER_KINDS } from '../servers/registry.ts';

const ipv4 = z.string().refine((s) => isIPv4(s), { message: 'expected an IPv4 address like 10.0.0.6' });

export const cidr = z.string().refine(isCidr, { message: 'expected an IPv4 CIDR like 10.0.0.0/24' });

export function isCidr(s: string): boolean {
  const [ip, len, extra] = s.split('/');
  if (extra !== undefined || ip === undefined || len === undefined || !isIPv4(ip)) return false;
  return /^\d+$/.test(len) && Number(len) <= 32;
}

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a lowercase DNS label (a-z, 0-9, -)')
  .max(63);

const annotations = z.record(z.string(), z.string());

export const workloadSchema = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.default('default'),
  /** The pod IP, inside the lab's pod CIDR. */
  ip: ipv4,
  /** Whether Istio injected a sidecar (istio-init rules plus the outbound proxy). */
  sidecar: z.boolean().default(true),
  /** Pod annotations such as traffic.sidecar.istio.io/excludeOutboundIPRanges. */
  annotations: annotations.default({}),
  /** Pod labels, matched by Service selectors (in-mesh servers). */
  labels: z.record(z.string(), z.string()).default({}),
  /** The pod's service account: its SPIFFE identity is spiffe://cluster.local/ns/<namespace>/sa/<serviceAccount>. */
  serviceAccount: dnsLabel.default('default'),
  /** The pod's container ports (a Service's named targetPort refers to them). */
  ports: z
    .array(z.strictObject({ name: dnsLabel.optional(), containerPort: port, protocol: z.enum(['TCP', 'UDP']).default('TCP') }))
    .default([]),
  /** A server process running in the pod (seed 002's in-mesh mysql-server). */
  server: z.strictObject({ kind: z.enum(['mysql']), port: port.default(3306) }).optional(),
});

const servicePortSchema = z.strictObject({
  name: z.string().default(''),
  port,
  targetPort: port.optional(),
  protocol: z.enum(['TCP', 'UDP']).default('TCP'),
  appProtocol: z.string().optional(),
});

export const serviceSchema = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.default('default'),
  /** A ClusterIP, or "None" for a headless Service. */
  clusterIP: z.union([ipv4, z.literal('None')]),
  /** Omit for a Service without selector (its Endpoints are given by hand). */
  selector: z.record(z.string(), z.string()).optional(),
  ports: z.array(servicePortSchema).min(1),
  creationOrder: z.number().int().optional(),
});

export const endpointsSchema = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.default('default'),
  addresses: z.array(ipv4).min(1),
  ports: z.array(z.strictObject({ name: z.string().default(''), port })).min(1),
});

const seProtocol = z
  .string()
  .transform((s) => s.toUpperCase())
  .pipe(z.enum(['HTTP', 'HTTPS', 'HTTP2', 'GRPC', 'TLS', 'TCP', 'MONGO', 'MYSQL', 'REDIS', 'UDP', '']));

export const serviceEntrySchema = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.default('default'),
  hosts: z.array(z.string().min(1)).min(1),
  /** IPs or CIDRs; a /32 counts as a single VIP. */
  addresses: z.array(cidr.or(ipv4)).default([]),
  ports: z
    .array(z.strictObject({ number: port, name: z.string().default(''), protocol: seProtocol.default(''), targetPort: port.optional() }))
    .min(1),
  resolution: z.enum(['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN']).default('NONE'),
  location: z.enum(['MESH_EXTERNAL', 'MESH_INTERNAL']).default('MESH_EXTERNAL'),
  exportTo: z.array(z.string()).default(['*']),
  endpoints: z.array(z.strictObject({ address: z.string().min(1), ports: z.record(z.string(), port).optional() })).default([]),
});

/** A duration as Istio writes it: "3s", "500ms", "1.5s". */
const duration = z.string().regex(/^\d+(\.\d+)?(ms|s|m)$/, 'expected a duration like 3s or 500ms');

export const virtualServiceSchema = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.default('default'),
  hosts: z.array(z.string().min(1)).min(1),
  exportTo: z.array(z.string()).default(['*']),
  http: z
    .array(
      z.strictObject({
        timeout: duration.optional(),
        route: z
          .array(
            z.strictObject({
              destination: z.strictObject({ host: z.string().min(1), port: z.strictObject({ number: port }).optional() }),
              weight: z.number().int().optional(),
            }),
          )
          .min(1),
      }),
    )
    .default([]),
});

/**
 * An Istio object given as its spec, exactly as in a manifest (DestinationRules, Sidecars). The
 * harness does not model these fields: Istio's own validation checks them before anything runs,
 * and only real Istio (the envoy sidecar) acts on them.
 */
const istioSpecObject = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.default('default'),
  spec: z.record(z.string(), z.unknown()),
});

export const meshSchema = z.strictObject({
  outboundTrafficPolicy: z.enum(['ALLOW_ANY', 'REGISTRY_ONLY']).default('ALLOW_ANY'),
  services: z.array(serviceSchema).default([]),
  endpoints: z.array(endpointsSchema).default([]),
  serviceEntries: z.array(serviceEntrySchema).default([]),
  virtualServices: z.array(virtualServiceSchema).default([]),
  destinationRules: z.array(istioSpecObject).default([]),
  sidecars: z.array(istioSpecObject).default([]),
});

/**
 * A Kubernetes, Istio or Gateway API object exactly as `kubectl apply -f` takes it. Only the
 * envelope is checked here; harness/scenario/objectKinds.ts says which kinds the lab reads, and the
 * objects themselves are checked by their own schemas (kubernetes-models, and lab-istiod validate:
 * the CRDs and Istio's validation of the pinned module) before anything runs.
 */
export const verbatimObjectSchema = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({
    name: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'expected a lowercase DNS name (a-z, 0-9, - and .)')
      .max(253),
    namespace: dnsLabel.optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
});

/** An environment variable name, as pilot's feature flags are (pilot/pkg/features). */
const envName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'expected an environment variable name like PILOT_ENABLE_IP_AUTOALLOCATE');

export const externalServerSchema = z.strictObject({
  name: dnsLabel,
  /** A server kind of servers/registry.ts (redis: redis-server per port; mysql: MariaDB; http/https: an httpbin-like server). */
  kind: z.enum(SERVER_KINDS),
  /** Addresses the server answers on; they exist only inside the lab's external-host namespace. */
  addresses: z.array(ipv4).min(1),
  ports: z.array(port).min(1),
  password: z.string().optional(),
  /** DNS names that resolve to the first address in the lab. */
  hostnames: z.array(z.string()).default([]),
});

const endKind = z.enum(['eof', 'reset', 'idle']);

/** Every error class some kind's results carry (each probe is held to its own kind's, see probeSchema). */
const ALL_ERROR_CLASSES = [...new Set(PROBE_TYPE_NAMES.flatMap((k) => typeErrorClasses(k)))];
const errorClass = z.string().refine((c) => PROBE_TYPE_NAMES.some((k) => isTypeErrorClass(k, c)), {
  message: `expected an error class: ${ALL_ERROR_CLASSES.join(', ')}`,
});

/** What the client saw. These four are every kind's; the rest come from the probe types' modules. */
const commonClientExpect = {
  connect: z.enum(['ok', 'refused', 'timeout', 'unreachable']).optional(),
  /** How the connection ended: closed by the peer (eof), reset, or still open when the probe stopped reading (idle). */
  end: z.union([endKind, z.array(endKind).min(1)]).optional(),
  /** How long the probe took, in ms (for timeouts: a 504 after about 3 s). */
  durationMs: z.strictObject({ min: z.number().optional(), max: z.number().optional() }).optional(),
  /** The probe's error class, or several when the outcome is a race (e.g. FIN versus RST). */
  errorClass: z.union([errorClass, z.array(errorClass).min(1)]).optional(),
};
export const COMMON_CLIENT_EXPECTATIONS = Object.keys(commonClientExpect);

export const clientExpectSchema = z.strictObject({ ...commonClientExpect, ...KIND_EXPECT_FIELDS });

export const conntrackExpectSchema = z.strictObject({
  /** "redirected": the client's leg has a reply from 127.0.0.1:<15001>; "direct": the reply comes from the target. */
  path: z.enum(['redirected', 'direct']).optional(),
  redirectPort: port.optional(),
  /** Number of legs the probe produced in the pod's conntrack table (client leg plus sidecar legs). */
  legs: z.number().int().min(0).optional(),
  /** The sidecar's upstream leg goes to this address:port ("none" means there must be no second leg). */
  upstream: z.string().optional(),
});

/** Stat name to expected change: "+1", "+0", ">=1", or an absolute number. */
export const statsExpectSchema = z.record(
  z.string(),
  z.union([z.number(), z.string().regex(/^(\+\d+|>=\d+)$/, 'expected "+N", ">=N" or a number')]),
);

/**
 * The path by name, as Istio's simulation names it (pilot/pkg/simulation Result, see
 * harness/model/pathTrace.ts PathMatch); "none" means there must be none (an unnamed filter chain,
 * no route because tcp_proxy took it).
 */
const matchName = z.string().min(1);
export const pathExpectSchema = z.strictObject({
  listener: matchName.optional(),
  filterChain: matchName.optional(),
  routeConfig: matchName.optional(),
  virtualHost: matchName.optional(),
  route: matchName.optional(),
  cluster: matchName.optional(),
  /** Why matching stopped: "no filter chains matched", "no virtual host matched", "protocol error". */
  error: matchName.optional(),
});

const basisKind = z.enum(['observed', 'reasoned']);
export type Basis = z.infer<typeof basisKind>;

const perEvidenceBasis = z.strictObject({
  client: basisKind.optional(),
  conntrack: basisKind.optional(),
  stats: basisKind.optional(),
  path: basisKind.optional(),
  /** The old name of `path`, still read (scenario/load.ts says so). */
  model: basisKind.optional(),
});

const expectFields = z.strictObject({
  /**
   * What the sidecar did with the connection, in one word; it stands for the conntrack and stats
   * checks it implies (harness/scenario/outcomes.ts), which `conntrack:` and `stats:` refine.
   */
  outcome: z.enum(NAMED_OUTCOMES).optional(),
  client: clientExpectSchema.optional(),
  conntrack: conntrackExpectSchema.optional(),
  stats: statsExpectSchema.optional(),
  /**
   * The listener, filter chain, route and cluster the sidecar's config gives the connection. The
   * model engine checks it against the model's path trace; the envoy engine against Istio's own
   * simulation of the config istiod generated (harness/istio/simulation.ts). Unit tests check
   * every catalog probe's against the model without root (test/unit/pathTraceCatalog.test.ts).
   */
  path: pathExpectSchema.optional(),
  /** The old name of `path`, still read (scenario/load.ts prints a deprecation line). */
  model: pathExpectSchema.optional(),
  /**
   * Where the expectation comes from: seen in a seed or in real Istio (observed), or derived from
   * reading Istio/Envoy source (reasoned). One value for all, or one per kind of evidence.
   */
  basis: z.union([basisKind, perEvidenceBasis]).default('observed'),
  note: z.string().optional(),
});

/** The expectations, with the old name `model` read as `path` (both at once is an error). */
export const expectSchema = expectFields
  .refine((e) => !(e.path && e.model), { message: 'expect.model is the old name of expect.path: give only path', path: ['model'] })
  .refine((e) => typeof e.basis === 'string' || !(e.basis.path && e.basis.model), {
    message: 'basis.model is the old name of basis.path: give only path',
    path: ['basis', 'model'],
  })
  .transform(({ model, basis, ...e }) => ({
    ...e,
    path: e.path ?? model,
    basis: typeof basis === 'string' ? basis : (({ model: old, ...b }) => ({ ...b, path: b.path ?? old }))(basis),
  }));

/** Checks on a pod's state after set-up, e.g. the rule an annotation must add to iptables-save. */
export const podAssertionSchema = z.strictObject({
  workload: dnsLabel,
  iptablesSave: z.strictObject({ contains: z.array(z.string()).default([]), absent: z.array(z.string()).default([]) }).optional(),
  basis: basisKind.default('observed'),
});

/** The kind blocks (`tcp:`, `redis:`, `http:`, `mysql:`), each from its probe module. */
const kindBlocks = Object.fromEntries(PROBE_TYPE_NAMES.map((k) => [k, PROBE_TYPES[k].schema.optional()])) as {
  [K in ProbeTypeName]: z.ZodOptional<(typeof PROBE_TYPES)[K]['schema']>;
};

const probeCommon = {
  name: dnsLabel,
  description: z.string().optional(),
  from: dnsLabel,
  expect: expectSchema,
};

/**
 * A probe: exactly one kind block, then, once parsed, `kind` names it, so code switches on the
 * kind (or asks the kind's module, harness/probes/registry.ts) instead of testing for keys.
 */
export const probeSchema = z
  .strictObject({ ...probeCommon, ...kindBlocks })
  .refine((p) => PROBE_TYPE_NAMES.filter((k) => p[k] !== undefined).length === 1, {
    message: `a probe needs exactly one of ${PROBE_TYPE_NAMES.join(', ')}`,
  })
  .superRefine((p, ctx) => {
    const kind = PROBE_TYPE_NAMES.find((k) => p[k] !== undefined);
    if (kind && p.expect.client) heldToKind(kind, p.expect.client, ctx);
  })
  .transform((p) => {
    const kind = PROBE_TYPE_NAMES.find((k) => p[k] !== undefined)!;
    return { name: p.name, description: p.description, from: p.from, expect: p.expect, kind, [kind]: p[kind] } as ProbeCommon & TypedProbe;
  });

/** A probe's client expectations must be ones its kind answers, and name error classes its kind has. */
function heldToKind(kind: ProbeTypeName, client: ClientExpect, ctx: z.RefinementCtx): void {
  const own = [...COMMON_CLIENT_EXPECTATIONS, ...typeExpectFields(kind)];
  for (const [field, value] of Object.entries(client)) {
    if (value === undefined) continue;
    if (!own.includes(field)) {
      ctx.addIssue({
        code: 'custom',
        path: ['expect', 'client', field],
        message: `a ${kind} probe cannot check ${field}; its client expectations are ${own.join(', ')}`,
      });
    }
  }
  const classes = client.errorClass === undefined ? [] : [client.errorClass].flat();
  classes.forEach((c, i) => {
    if (isTypeErrorClass(kind, c)) return;
    const path = Array.isArray(client.errorClass) ? ['expect', 'client', 'errorClass', i] : ['expect', 'client', 'errorClass'];
    ctx.addIssue({
      code: 'custom',
      path,
      message: `a ${kind} probe has no error class "${c}"; expected one of ${typeErrorClasses(kind).join(', ')}`,
    });
  });
}

type ProbeCommon = { name: string; description?: string; from: string; expect: z.infer<typeof expectSchema> };

export const scenarioSchema = z.strictObject({
  name: dnsLabel,
  description: z.string().min(1),
  tags: z.array(z.string()).default([]),
  /** The Istio version whose behaviour the scenario assumes, e.g. "1.4" or "1.30". */
  istio: z.string(),
  lab: z.strictObject({ podCIDR: cidr.default('10.64.192.0/24') }).default({ podCIDR: '10.64.192.0/24' }),
  workloads: z.array(workloadSchema).min(1),
  mesh: meshSchema.default({
    outboundTrafficPolicy: 'ALLOW_ANY',
    services: [],
    endpoints: [],
    serviceEntries: [],
    virtualServices: [],
    destinationRules: [],
    sidecars: [],
  }),
  /** Kubernetes and Istio objects as they are, inline. */
  objects: z.array(verbatimObjectSchema).default([]),
  /** Manifest files (multi-document YAML, as `kubectl apply -f` takes), relative to the scenario file. */
  manifests: z.array(z.string().min(1)).default([]),
  /** The mesh config as the istio ConfigMap's `mesh` key holds it, merged over Istio's defaults. */
  meshConfig: z.record(z.string(), z.unknown()).default({}),
  /** istiod's settings: `env` holds pilot feature flags (pilot/pkg/features), as in istiod's Deployment. */
  istiod: z.strictObject({ env: z.record(envName, z.string()).default({}) }).default({ env: {} }),
  externalServers: z.array(externalServerSchema).default([]),
  probes: z.array(probeSchema).min(1),
  assertions: z.array(podAssertionSchema).default([]),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type Workload = z.infer<typeof workloadSchema>;
export type Service = z.infer<typeof serviceSchema>;
export type ServicePort = z.infer<typeof servicePortSchema>;
export type Endpoints = z.infer<typeof endpointsSchema>;
export type ServiceEntry = z.infer<typeof serviceEntrySchema>;
export type MeshConfig = z.infer<typeof meshSchema>;
export type ExternalServer = z.infer<typeof externalServerSchema>;
export type Probe = z.infer<typeof probeSchema>;
export type Expect = z.infer<typeof expectSchema>;
export type ClientExpect = z.infer<typeof clientExpectSchema>;
export type ConntrackExpect = z.infer<typeof conntrackExpectSchema>;
export type PodAssertion = z.infer<typeof podAssertionSchema>;
export type PathExpect = z.infer<typeof pathExpectSchema>;
export type VirtualService = z.infer<typeof virtualServiceSchema>;
export type IstioSpecObject = z.infer<typeof istioSpecObject>;
export type VerbatimObject = z.infer<typeof verbatimObjectSchema>;
