/**
 * What a server kind provides. Each kind is one module (servers/<kind>.ts) listed once in
 * servers/registry.ts; the scenario schema, the netns lab, the kind backend, import and replay ask
 * the kind's module instead of testing its name.
 */
import type { RunCgroup } from '../proc/cgroup.ts';
import type { LabProcess } from '../proc/processes.ts';
import type { LabCa } from './certs.ts';

/** An external server as a scenario declares it (scenario/schema.ts externalServerSchema). */
export interface ServerSpec {
  name: string;
  kind: string;
  addresses: string[];
  ports: number[];
  password?: string | undefined;
  hostnames: string[];
}

/** What starting a server in the lab needs. */
export interface ServerContext {
  /** The run prefix: scratch files outside the run directory carry it, so that lab down can sweep them. */
  prefix: string;
  /** The run directory's servers/ folder: logs, data directories, configs. */
  dir: string;
  /** Where the MariaDB template datadir is kept between scenarios of one process. */
  cacheDir: string;
  ca: LabCa;
  /** The run's cgroup: every server is started inside it. */
  cgroup: RunCgroup;
}

/** The container the kind backend runs for a server (testcontainers, or the `docker run` of a dry-run). */
export interface ContainerSpec {
  env: Record<string, string>;
  /** The container's command; values travel as environment variables, never inside a shell script. */
  command?: string[];
  /** The log line it prints once it accepts connections, and how many times it must appear. */
  ready: { line: RegExp; times: number };
  /** Whether it serves TLS with a lab-CA certificate for the server's hostnames (copied in before start). */
  tls: boolean;
}

export interface ServerType {
  /** The scenario's `kind:` value. */
  name: string;
  /** One line for the scenario schema's documentation. */
  summary: string;
  /** Starts the server's processes in the external host's namespace `ns`. */
  startInLab(srv: ServerSpec, ns: string, ctx: ServerContext): Promise<LabProcess[]>;
  /** The pinned image the kind backend runs (and preloads). */
  image: string;
  container(srv: ServerSpec): ContainerSpec;
  /** The probe block (scenario `probes[]` keys) that speaks this server's protocol to host:port, for import and replay. */
  defaultProbe(host: string, port: number): Record<string, unknown>;
  /**
   * Whether a destination port probably is this kind, for import: Istio's port-name protocol prefixes
   * (pilot/pkg/serviceregistry/kube/conversion.go) first, then well-known port numbers.
   */
  portNames: string[];
  wellKnownPort(port: number): boolean;
}
