/**
 * The pinned images of the scenarios' clients and servers: the kind backend runs them, and the pods
 * lab-istiod reads in the netns lab name the same ones, so both backends' istiod sees one pod.
 */
import type { ManifestOptions } from '../k8s/objects.ts';
import { MESH_STATS_PREFIXES } from '../core/stats.ts';

/** The probe client: one image with curl, nc, socat and openssl for every probe kind's raw bytes. */
export const CLIENT_IMAGE = 'docker.io/nicolaka/netshoot:v0.13';
export const REDIS_IMAGE = 'docker.io/library/redis:7.4';
export const MARIADB_IMAGE = 'docker.io/library/mariadb:11.4';
/**
 * go-httpbin rather than kennethreitz/httpbin: it is maintained, a small static binary built for
 * amd64 and arm64, serves the endpoints the scenarios use (/get, /headers, /status/N, /delay/N),
 * takes its port from $PORT and can serve HTTPS from a given certificate; the original image has
 * not been updated since 2018 and ships amd64 only.
 */
export const HTTPBIN_IMAGE = 'docker.io/mccutchen/go-httpbin:v2.15.0';

/** Images of the scenarios' clients and servers; extend this list when a scenario needs another. */
export const SCENARIO_IMAGES = [CLIENT_IMAGE, REDIS_IMAGE, MARIADB_IMAGE, HTTPBIN_IMAGE];

/** What both backends render a scenario's objects with; the kind backend adds its service subnet. */
export const MANIFEST_OPTIONS: ManifestOptions = {
  clientImage: CLIENT_IMAGE,
  serverImages: { mysql: MARIADB_IMAGE },
  statsInclusionPrefixes: MESH_STATS_PREFIXES,
};
