/**
 * The mapping file of `egress-lab replay --map FILE`: which lab server answers at each address the
 * customer's configuration sends traffic to (an address the pod dials, or an endpoint the dump
 * names), and, for endpoints, optionally another address to serve it at. Errors name the file and
 * the field. Pure: text in, mapping out.
 *
 *   servers:
 *     - address: 10.10.13.110      # as in the customer's network
 *       ports: [3306]
 *       kind: mysql                # redis | mysql | http | https
 *     - address: 172.20.0.30       # an EDS endpoint inside the pod's /24
 *       ports: [3306]
 *       kind: mysql
 *       lab: 10.10.14.30           # served here; the replayed config's endpoint is rewritten to it
 */
import { z } from 'zod';
import { isIPv4 } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { ReplayError, type EndpointRewrite } from './bootstrapFromDump.ts';
import { SERVER_KINDS } from '../servers/registry.ts';

const ip = z.string().refine((s) => isIPv4(s), { message: 'expected an IPv4 address' });
const mappingSchema = z.strictObject({
  servers: z
    .array(
      z.strictObject({
        address: ip,
        ports: z.array(z.number().int().min(1).max(65535)).min(1),
        kind: z.enum(SERVER_KINDS),
        lab: ip.optional(),
      }),
    )
    .default([]),
});

export type ReplayMapping = z.infer<typeof mappingSchema>;
export type MappedServer = ReplayMapping['servers'][number];

export function parseMapping(text: string, file: string): ReplayMapping {
  let value: unknown;
  try {
    value = parseYaml(text) ?? {};
  } catch (err) {
    throw new ReplayError(`${file}: not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const r = mappingSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ReplayError(`${file}: ${i.path.join('.') || '(top)'}: ${i.message}`);
  }
  return r.data;
}

/** Endpoints a server with `lab:` answers for are rewritten to it. */
export function endpointRewrite(m: ReplayMapping): EndpointRewrite {
  return (address, port) => {
    const s = m.servers.find((x) => x.address === address && x.ports.includes(port) && x.lab);
    return s ? { address: s.lab!, port } : undefined;
  };
}

/** One line per mapped address: customer address and port → the lab server. */
export function mappingLines(m: ReplayMapping): string[] {
  return m.servers.map(
    (s) =>
      `${s.address}:${s.ports.join(',')} → lab ${s.kind} server at ${s.lab ?? s.address}${s.lab ? " (the config's endpoint rewritten to it)" : ''}`,
  );
}
