/**
 * A filter chain match in istioctl's words (the MATCH column of `istioctl proxy-config listener`,
 * istioctl/pkg/writer/envoy/configdump/listener.go), from the snake_case shape of Envoy's config_dump.
 * The model's path trace labels unnamed chains with it; the proxy-config views print it.
 */
import { arr, num, obj, str } from './looseJson.ts';

/** ALPN lists istioctl names. The seed's istioctl printed "App: HTTP" for today's [http/1.1, h2c] too. */
const HTTP_ALPNS = [
  ['http/1.0', 'http/1.1', 'h2c'],
  ['http/1.1', 'h2c'],
];

function describeAlpn(alpn: string[]): string {
  const sorted = [...alpn].sort().join(',');
  return HTTP_ALPNS.some((set) => [...set].sort().join(',') === sorted) ? 'HTTP' : alpn.join(',');
}

/**
 * The MATCH column: "SNI: ..; Trans: ..; App: ..; Addr: ..", or ALL for a match-all chain.
 * "Trans: raw_buffer" is left out next to "App: HTTP", which is how the seed's istioctl showed it.
 */
export function describeChainMatch(match: unknown): string {
  const m = obj(match);
  const out: string[] = [];
  const names = arr(m.server_names).map(str);
  if (names.length > 0) out.push(`SNI: ${names.join(',')}`);
  const alpn = arr(m.application_protocols).map(str);
  const app = alpn.length > 0 ? describeAlpn(alpn) : undefined;
  const trans = str(m.transport_protocol);
  if (trans && !(trans === 'raw_buffer' && app === 'HTTP')) out.push(`Trans: ${trans}`);
  if (app) out.push(`App: ${app}`);
  const port = m.destination_port !== undefined ? `:${num(m.destination_port) ?? ''}` : '';
  const ranges = arr(m.prefix_ranges).map((r) => `${str(obj(r).address_prefix)}/${num(obj(r).prefix_len) ?? 0}`);
  if (ranges.length > 0) out.push(`Addr: ${ranges.join(',')}${port}`);
  else if (port) out.push(`Addr: *${port}`);
  return out.length > 0 ? out.join('; ') : 'ALL';
}
