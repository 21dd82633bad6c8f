/**
 * The server kinds. A new kind is one module (servers/serverType.ts says what it provides) and one
 * line here; the scenario schema's `kind` enum is derived from this list.
 */
import { http } from './http.ts';
import { https } from './https.ts';
import { mysql } from './mysql.ts';
import { redis } from './redis.ts';
import type { ServerType } from './serverType.ts';

const SERVER_TYPES = { redis, mysql, http, https } satisfies Record<string, ServerType>;

export type ServerKind = keyof typeof SERVER_TYPES;
export const SERVER_KINDS = Object.keys(SERVER_TYPES) as [ServerKind, ...ServerKind[]];

/** Every server kind's image, for the kind backend's preload list. */
export const SERVER_IMAGES = [...new Set(Object.values(SERVER_TYPES).map((t: ServerType) => t.image))];

/** The module of a server kind; an unknown kind is an error, never a default server. */
export function serverType(kind: string): ServerType {
  const t = (SERVER_TYPES as Record<string, ServerType>)[kind];
  if (!t) throw new Error(`unknown server kind "${kind}": expected one of ${SERVER_KINDS.join(', ')}`);
  return t;
}

/**
 * The server kind a destination port probably is, for import: a port name with one of a kind's
 * Istio protocol prefixes wins over a well-known port number.
 */
export function guessServerKind(port: number, portNames: string[]): ServerKind | undefined {
  const prefixes = portNames.map((n) => n.toLowerCase().split('-')[0]!);
  const kinds = Object.entries(SERVER_TYPES) as Array<[ServerKind, ServerType]>;
  return kinds.find(([, t]) => t.portNames.some((p) => prefixes.includes(p)))?.[0] ?? kinds.find(([, t]) => t.wellKnownPort(port))?.[0];
}
