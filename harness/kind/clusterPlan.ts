/**
 * The cluster-level commands of the kind backend, as data (no I/O here): create or reuse the
 * egress-lab cluster, install Istio once, preload images, delete the cluster.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toGoYaml } from '../core/goYaml.ts';
import { MESH_STATS_PREFIXES } from '../core/stats.ts';
import { CLIENT_IMAGE, hashOf } from '../k8s/objects.ts';
import type { Scenario } from '../scenario/schema.ts';
import { SERVER_IMAGES } from '../servers/registry.ts';
import { CLUSTER_NAME, ISTIO_VERSION, KUBE_CONTEXT, MANAGED_LABEL, type Command } from './plan.ts';
import { isMapping } from '../core/mapping.ts';

/** Istio's control plane and sidecar, the tags `istioctl install` of ISTIO_VERSION deploys. */
export const PILOT_IMAGE = `docker.io/istio/pilot:${ISTIO_VERSION}`;
export const PROXYV2_IMAGE = `docker.io/istio/proxyv2:${ISTIO_VERSION}`;
export const ISTIO_IMAGES = [PILOT_IMAGE, PROXYV2_IMAGE];
/** Images of the scenarios' clients and servers (each server kind names its own). */
export const SCENARIO_IMAGES = [CLIENT_IMAGE, ...SERVER_IMAGES];
/** Every pinned image the backend uses, in preload order. */
export const IMAGES = [...ISTIO_IMAGES, ...SCENARIO_IMAGES];

const kubectl = (why: string, ...args: string[]): Command => ({ program: 'kubectl', args: ['--context', KUBE_CONTEXT, ...args], why });

/**
 * Create the cluster unless it exists. An existing egress-lab cluster is reused only when its node
 * carries MANAGED_LABEL: one without it was made by someone else and may hold their work.
 */
export function clusterCommands(opts: { configPath: string; exists: boolean; managed: boolean }): Command[] {
  if (opts.exists && !opts.managed) {
    throw new Error(
      `a kind cluster named ${CLUSTER_NAME} exists but its node has no ${MANAGED_LABEL}=true label, so egress-lab did not create it and will not touch it. ` +
        `Delete it if it is disposable (kind delete cluster --name ${CLUSTER_NAME}), or adopt it for egress-lab ` +
        `(kubectl --context ${KUBE_CONTEXT} label nodes --all ${MANAGED_LABEL}=true).`,
    );
  }
  if (opts.exists) return [];
  return [
    {
      program: 'kind',
      args: ['create', 'cluster', '--name', CLUSTER_NAME, '--config', opts.configPath, '--wait', '180s'],
      why: `create the ${CLUSTER_NAME} kind cluster (one node, pinned kindest/node digest)`,
    },
    kubectl(
      `mark the cluster as egress-lab's so later runs may reuse it`,
      'label',
      'nodes',
      '--all',
      `${MANAGED_LABEL}=true`,
      '--overwrite',
    ),
  ];
}

export function deleteCommands(): Command[] {
  return [
    {
      program: 'kind',
      args: ['delete', 'cluster', '--name', CLUSTER_NAME],
      why: `delete the ${CLUSTER_NAME} kind cluster and everything in it`,
    },
  ];
}

/**
 * What a scenario asks of the cluster's Istio: its mesh config and istiod's flags. Most scenarios
 * ask nothing, and share the default install; one that asks gets Istio reinstalled with them
 * (`istioctl install` upgrades in place), and the next scenario that asks otherwise reinstalls again.
 */
export interface IstioInstallSettings {
  meshConfig: Record<string, unknown>;
  pilotEnv: Record<string, string>;
}

export const DEFAULT_INSTALL: IstioInstallSettings = { meshConfig: {}, pilotEnv: {} };

export function installSettings(s: Scenario): IstioInstallSettings {
  return { meshConfig: structuredClone(s.meshConfig), pilotEnv: { ...s.istiod.env } };
}

/** On istiod's Deployment: the hash of the settings it was installed with (installedSettingsHash reads it). */
export const INSTALL_HASH_ANNOTATION = 'egress-lab.io/install-settings';

export function installHash(settings: IstioInstallSettings): string {
  return hashOf(settings);
}

/**
 * The IstioOperator overlay: the scenario's mesh config as written, then the access log to stdout
 * and the stats matcher the checks need (merged with the scenario's own prefixes), ALLOW_ANY when
 * the scenario names no policy (scenarios without one flip it with a Sidecar), and istiod's flags
 * as values.pilot.env. Unlike the lab, kind runs istio-proxy, which has Istio's own filters, so the
 * metrics provider stays. It goes to `istioctl install -f -` on stdin: lists and `|` do not go
 * cleanly through --set.
 */
export function istioOverlay(settings: IstioInstallSettings = DEFAULT_INSTALL): string {
  const given = settings.meshConfig;
  const defaultConfig = isMapping(given.defaultConfig) ? given.defaultConfig : {};
  const matcher = isMapping(defaultConfig.proxyStatsMatcher) ? defaultConfig.proxyStatsMatcher : {};
  const included = Array.isArray(matcher.inclusionPrefixes) ? (matcher.inclusionPrefixes as unknown[]) : [];
  const meshConfig = {
    ...given,
    accessLogFile: '/dev/stdout',
    outboundTrafficPolicy: given.outboundTrafficPolicy ?? { mode: 'ALLOW_ANY' },
    defaultConfig: {
      ...defaultConfig,
      proxyStatsMatcher: { ...matcher, inclusionPrefixes: [...new Set([...MESH_STATS_PREFIXES, ...included])] },
    },
  };
  const env = Object.keys(settings.pilotEnv).length > 0 ? { values: { pilot: { env: settings.pilotEnv } } } : {};
  return toGoYaml({ apiVersion: 'install.istio.io/v1alpha1', kind: 'IstioOperator', spec: { meshConfig, ...env } });
}

/**
 * Istio (ISTIO_VERSION) with istiod only, with a scenario's settings; then istiod's Deployment is
 * marked with their hash, so a later run knows what is installed. Sidecars read defaultConfig at
 * injection, so this runs before the scenario's pods exist.
 */
export function istioInstallCommands(settings: IstioInstallSettings = DEFAULT_INSTALL): Command[] {
  return [
    {
      program: 'istioctl',
      args: ['install', '--context', KUBE_CONTEXT, '-y', '--set', 'profile=minimal', '-f', '-'],
      input: istioOverlay(settings),
      why: `install Istio ${ISTIO_VERSION} (istiod only, access logs, the stats matcher the checks need${
        settings === DEFAULT_INSTALL || installHash(settings) === installHash(DEFAULT_INSTALL)
          ? ', ALLOW_ANY; scenarios flip the policy with a Sidecar'
          : ", with the scenario's own mesh config and istiod flags"
      })`,
    },
    kubectl('wait until istiod is ready to inject sidecars', '-n', 'istio-system', 'rollout', 'status', 'deploy/istiod', '--timeout=5m'),
    kubectl(
      'mark istiod with the settings it was installed with',
      '-n',
      'istio-system',
      'annotate',
      '--overwrite',
      'deploy/istiod',
      `${INSTALL_HASH_ANNOTATION}=${installHash(settings)}`,
    ),
  ];
}

/** Where the image archives for `kind load image-archive` are written. */
export const IMAGE_ARCHIVE_DIR = join(tmpdir(), 'egress-lab-images');

/** The platform of the kind node on this machine (the node runs natively, not emulated). */
function hostPlatform(): string {
  return process.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64';
}

/**
 * Load images into the node from the host's Docker, one platform per archive: `kind load
 * docker-image` fails on multi-platform images with the containerd image store (kind#3795,
 * kind#4224). The caller creates archiveDir.
 */
export function preloadCommands(images: string[], opts: { archiveDir?: string; platform?: string } = {}): Command[] {
  const platform = opts.platform ?? hostPlatform();
  const dir = opts.archiveDir ?? IMAGE_ARCHIVE_DIR;
  return images.flatMap((image): Command[] => {
    const archive = join(dir, `${image.replace(/[^\w.-]+/g, '_')}.tar`);
    return [
      { program: 'docker', args: ['pull', '--platform', platform, image], why: `pull ${image} (${platform})` },
      {
        program: 'docker',
        args: ['image', 'save', '--platform', platform, '-o', archive, image],
        why: `save ${image} for ${platform} only`,
      },
      {
        program: 'kind',
        args: ['load', 'image-archive', archive, '--name', CLUSTER_NAME],
        why: `load ${image} into the node so pods never pull it`,
      },
    ];
  });
}
