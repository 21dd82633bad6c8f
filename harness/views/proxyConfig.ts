/**
 * `istioctl proxy-config listener|cluster|route|endpoint` computed from an Envoy /config_dump, so that
 * egress-lab's sidecar can be read with the tables users already paste from real clusters. Pure: the
 * input is the parsed dump (snake_case, as Envoy prints it), the output is text.
 *
 * The wording, column order and sort orders follow istioctl's configdump writers
 * (istioctl/pkg/writer/envoy/configdump/{listener,cluster,route,endpoint}.go); where istioctl reads
 * something the dump does not have (the endpoint table comes from /clusters there), the nearest
 * config_dump field stands in and the comment says so.
 */

import { arr, num, obj, str, type Json } from '../model/looseJson.ts';
import { describeChainMatch } from '../model/chainMatch.ts';

export type { Json };
export { describeChainMatch };

/** Byte order, as Go compares strings (localeCompare would put "a" before "B"). */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function section(dump: unknown, kind: string): Json {
  const configs = obj(dump).configs;
  if (!Array.isArray(configs)) throw new Error('not an Envoy config_dump: no "configs" array');
  // v2 (envoy.admin.v2alpha) and v3 dumps differ only in the package part of the type URL.
  return obj(configs.find((c) => str(obj(c)['@type']).endsWith(`.${kind}`)));
}

// ---------------------------------------------------------------------------------------------
// Go's text/tabwriter, as istioctl sets it up.

export interface TabwriteOptions {
  /** Spaces after a column's widest cell: istioctl uses 1 for listeners, 5 for the other tables. */
  padding: number;
}

const runeLength = (s: string): number => [...s].length;

/**
 * tabwriter.NewWriter(out, 0, 8, padding, ' ', 0): every cell but the last of a row is padded to the
 * widest cell of its column plus `padding`; the last cell is not padded. Rows here all have the same
 * number of cells, so tabwriter's column blocks are the whole table. Trailing blanks are trimmed:
 * tabwriter leaves them when the last column is empty (VIRTUAL SERVICE, DESTINATION RULE), but pasted
 * istioctl output (the seeds) never keeps them, and a diff against it should not trip on them.
 */
export function tabwrite(rows: string[][], opts: TabwriteOptions): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.slice(0, -1).forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, runeLength(cell))));
  }
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i < row.length - 1 ? cell + ' '.repeat((widths[i] ?? 0) - runeLength(cell) + opts.padding) : cell))
      .join('')
      .trimEnd();
  return rows.map(line).join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// -o json: protojson's lowerCamelCase names.

/** Fields whose keys are data (map keys, Struct fields), not proto field names: protojson keeps them. */
const MAP_FIELDS = new Set(['filter_metadata', 'typed_filter_metadata', 'typed_per_filter_config', 'typed_extension_protocol_options']);

/** protoc's JSON name: drop each underscore and upper-case the character after it. */
export function camelName(name: string): string {
  let out = '';
  let upper = false;
  for (const c of name) {
    if (c === '_') upper = true;
    else {
      out += upper ? c.toUpperCase() : c;
      upper = false;
    }
  }
  return out;
}

/** Converts a snake_case dump object to the camelCase istioctl prints with -o json ("@type" stays). */
export function toCamelCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toCamelCase);
  if (typeof value !== 'object' || value === null) return value;
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) {
    if (!MAP_FIELDS.has(key)) out[key.startsWith('@') ? key : camelName(key)] = toCamelCase(v);
    else
      out[camelName(key)] = Object.fromEntries(
        Object.entries(obj(v)).map(([k, inner]) => [k, key.includes('typed') ? toCamelCase(inner) : inner]),
      );
  }
  return out;
}

/** istioctl marshals the selected messages as a JSON array with a 4-space indent. */
export function toJson(objects: Json[]): string {
  return JSON.stringify(toCamelCase(objects), null, 4) + '\n';
}

// ---------------------------------------------------------------------------------------------
// Shared helpers for Istio metadata.

const BLACKHOLE = 'BlackHoleCluster';
const PASSTHROUGH = 'PassthroughCluster';
const HCM_NAMES = new Set(['envoy.filters.network.http_connection_manager', 'envoy.http_connection_manager']);
const TCP_PROXY_NAMES = new Set(['envoy.filters.network.tcp_proxy', 'envoy.tcp_proxy']);

/** renderConfig: "/apis/networking.istio.io/v1alpha3/namespaces/NS/KIND/NAME" is shown as "NAME.NS". */
function renderIstioConfig(metadata: unknown): string {
  const config = obj(obj(obj(metadata).filter_metadata).istio).config;
  if (typeof config !== 'string') return '';
  const pieces = config.split('/');
  if (!config.startsWith('/apis/networking.istio.io/')) return '<unknown>';
  return pieces.length === 8 ? `${pieces[7]}.${pieces[5]}` : '';
}

// ---------------------------------------------------------------------------------------------
// Listeners.

export interface ListenerFilter {
  port?: number;
  address?: string;
  /** HTTP or TCP, as `--type`; compared case-insensitively. */
  type?: string;
}

/** Listeners in dump order: active dynamic listeners, then static ones (istioctl reads both). */
export function dumpListeners(dump: unknown): Json[] {
  const s = section(dump, 'ListenersConfigDump');
  const dynamic = arr(s.dynamic_listeners)
    .map((d) => obj(obj(obj(d).active_state).listener))
    .filter((l) => Object.keys(l).length > 0);
  return [...dynamic, ...arr(s.static_listeners).map((d) => obj(obj(d).listener))];
}

const listenerAddress = (l: Json): string => str(obj(obj(l.address).socket_address).address);
const listenerPort = (l: Json): number => num(obj(obj(l.address).socket_address).port_value) ?? 0;

function listenerAddresses(l: Json): string[] {
  const extra = arr(l.additional_addresses).map((a) => str(obj(obj(obj(a).address).socket_address).address));
  return [listenerAddress(l), ...extra];
}

/** retrieveListenerType: the first HCM makes it HTTP, the first tcp_proxy not to BlackHoleCluster TCP. */
function listenerType(l: Json): string {
  for (const chain of arr(l.filter_chains)) {
    for (const f of arr(obj(chain).filters).map(obj)) {
      if (HCM_NAMES.has(str(f.name))) return 'HTTP';
      if (TCP_PROXY_NAMES.has(str(f.name)) && !JSON.stringify(f.typed_config ?? {}).includes(BLACKHOLE)) return 'TCP';
    }
  }
  return 'UNKNOWN';
}

function listenerMatches(l: Json, f: ListenerFilter): boolean {
  if (f.address !== undefined && !listenerAddresses(l).includes(f.address)) return false;
  if (f.port !== undefined && listenerPort(l) !== f.port) return false;
  return f.type === undefined || listenerType(l).toLowerCase() === f.type.toLowerCase();
}

/** istioctl's order: port, then address (as strings, so 10.96.0.1 sorts after 10.100.0.1), then type. */
function compareListeners(a: Json, b: Json): number {
  return listenerPort(a) - listenerPort(b) || cmp(listenerAddress(a), listenerAddress(b)) || cmp(listenerType(a), listenerType(b));
}

export function selectListeners(dump: unknown, filter: ListenerFilter = {}): Json[] {
  return dumpListeners(dump).filter((l) => listenerMatches(l, filter));
}

/** An inline route_config (the 15021/15090 static listeners of a real sidecar): "Inline Route: /healthz/ready*". */
function describeInlineRoute(rc: Json): string {
  const vhosts = arr(rc.virtual_hosts).map((v) => {
    const vh = obj(v);
    const domains = arr(vh.domains).map(str);
    const routes = arr(vh.routes)
      .map((r) => describeRouteMatch(obj(r).match))
      .join(', ');
    return domains.length === 1 && domains[0] === '*' ? routes : `${domains.join('/')} ${routes}`;
  });
  return `Inline Route: ${vhosts.join('; ')}`;
}

/**
 * The DESTINATION column (getFilterType): "Route: NAME" for an HCM with RDS, "Cluster: NAME" for a
 * tcp_proxy, the bare name when it already says Cluster (PassthroughCluster). A tcp_proxy to
 * BlackHoleCluster is skipped, so such a chain reads "Non-HTTP/Non-TCP", as istioctl prints it.
 */
export function describeChainDestination(chain: unknown): string {
  for (const f of arr(obj(chain).filters).map(obj)) {
    const cfg = obj(f.typed_config);
    if (HCM_NAMES.has(str(f.name))) {
      if (cfg.rds !== undefined) return `Route: ${str(obj(cfg.rds).route_config_name)}`;
      return cfg.route_config !== undefined ? describeInlineRoute(obj(cfg.route_config)) : 'HTTP';
    }
    if (TCP_PROXY_NAMES.has(str(f.name)) && !JSON.stringify(cfg).includes(BLACKHOLE)) {
      const cluster = str(cfg.cluster);
      return cluster.includes('Cluster') ? cluster : `Cluster: ${cluster}`;
    }
  }
  return 'Non-HTTP/Non-TCP';
}

/** One row per chain, default chain included, then sorted by DESTINATION descending as istioctl does. */
function listenerRows(l: Json): string[][] {
  const chains = [...arr(l.filter_chains), ...(l.default_filter_chain !== undefined ? [l.default_filter_chain] : [])];
  const rows = chains.map((c) => ({ match: describeChainMatch(obj(c).filter_chain_match), dest: describeChainDestination(c) }));
  rows.sort((a, b) => cmp(b.dest, a.dest));
  return rows.map((r) => [listenerAddress(l), String(listenerPort(l)), r.match, r.dest]);
}

export function listenerTable(dump: unknown, filter: ListenerFilter = {}): string {
  const listeners = selectListeners(dump, filter).sort(compareListeners);
  return tabwrite([['ADDRESS', 'PORT', 'MATCH', 'DESTINATION'], ...listeners.flatMap(listenerRows)], { padding: 1 });
}

// ---------------------------------------------------------------------------------------------
// Clusters.

export interface ClusterFilter {
  fqdn?: string;
  port?: number;
  direction?: string;
  subset?: string;
}

export interface SubsetKey {
  direction: string;
  port: number;
  subset: string;
  fqdn: string;
}

/** "outbound|PORT|SUBSET|FQDN"; any other name (PassthroughCluster) is all FQDN. */
export function parseSubsetKey(name: string): SubsetKey {
  const parts = name.split('|');
  if (parts.length < 4) return { direction: '', port: 0, subset: '', fqdn: name };
  return { direction: parts[0]!, port: Number(parts[1]) || 0, subset: parts[2]!, fqdn: parts[3]! };
}

export function dumpClusters(dump: unknown): Json[] {
  const s = section(dump, 'ClustersConfigDump');
  return [...arr(s.dynamic_active_clusters), ...arr(s.static_clusters)].map((c) => obj(obj(c).cluster));
}

/** ClusterFilter.Verify matches substrings of the cluster name, not the parsed fields. */
function clusterMatches(c: Json, f: ClusterFilter): boolean {
  const name = str(c.name);
  if (f.fqdn !== undefined && !name.includes(f.fqdn)) return false;
  if (f.direction !== undefined && !name.includes(f.direction)) return false;
  if (f.subset !== undefined && !name.includes(f.subset)) return false;
  return f.port === undefined || name.includes(`|${f.port}|`);
}

/** istioctl's order: FQDN, subset, port, direction. */
function compareClusters(a: Json, b: Json): number {
  const x = parseSubsetKey(str(a.name));
  const y = parseSubsetKey(str(b.name));
  return cmp(x.fqdn, y.fqdn) || cmp(x.subset, y.subset) || x.port - y.port || cmp(x.direction, y.direction);
}

export function selectClusters(dump: unknown, filter: ClusterFilter = {}): Json[] {
  return dumpClusters(dump)
    .filter((c) => clusterMatches(c, filter))
    .sort(compareClusters);
}

/** Proto enums print their name; an absent type is the enum's zero value, STATIC. */
const clusterType = (c: Json): string => str(c.type) || 'STATIC';

function clusterRow(c: Json): string[] {
  const name = str(c.name);
  if (name.split('|').length <= 3) return [name, '-', '-', '-', clusterType(c), renderIstioConfig(c.metadata)];
  const k = parseSubsetKey(name);
  return [k.fqdn, String(k.port), k.subset || '-', k.direction, clusterType(c), renderIstioConfig(c.metadata)];
}

export function clusterTable(dump: unknown, filter: ClusterFilter = {}): string {
  const header = ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE'];
  return tabwrite([header, ...selectClusters(dump, filter).map(clusterRow)], { padding: 5 });
}

// ---------------------------------------------------------------------------------------------
// Routes.

export interface RouteFilter {
  name?: string;
}

/** retrieveSortedRouteSlice orders numeric names ("80", "7000") by value; named routes keep dump order after them. */
function compareRoutes(a: Json, b: Json): number {
  const x = /^\d+$/.test(str(a.name)) ? Number(a.name) : Infinity;
  const y = /^\d+$/.test(str(b.name)) ? Number(b.name) : Infinity;
  return x === y ? 0 : x < y ? -1 : 1;
}

export function dumpRoutes(dump: unknown): Json[] {
  const s = section(dump, 'RoutesConfigDump');
  return [...arr(s.dynamic_route_configs), ...arr(s.static_route_configs)].map((r) => obj(obj(r).route_config));
}

export function selectRoutes(dump: unknown, filter: RouteFilter = {}): Json[] {
  return dumpRoutes(dump)
    .filter((r) => filter.name === undefined || str(r.name) === filter.name)
    .sort(compareRoutes);
}

/** describeMatch: "/*" for prefix "/", the exact path, or "regex ..."; header matches are not shown. */
export function describeRouteMatch(match: unknown): string {
  const m = obj(match);
  const conds: string[] = [];
  if (str(m.prefix)) conds.push(`${str(m.prefix)}*`);
  if (str(m.path_separated_prefix)) conds.push(`${str(m.path_separated_prefix)}/*`);
  if (str(m.path)) conds.push(str(m.path));
  if (m.safe_regex !== undefined) conds.push(`regex ${str(obj(m.safe_regex).regex)}`);
  return conds.join(' ');
}

/**
 * describeRouteDomains: one domain as is; otherwise the domains without ":port", minus every
 * "x.svc.cluster.local" or "x.svc" whose shorter "x" is also listed (unexpandDomains), first two
 * shown and the rest counted. So "reviews.default.svc.cluster.local" reads "reviews.default" from
 * another namespace and "reviews, reviews.default + 1 more..." from its own (where Istio adds the
 * bare name); the catch-all is "*".
 */
export function describeRouteDomains(domains: string[]): string {
  if (domains.length <= 1) return domains[0] ?? '';
  // A bracketed IPv6 address has colons but no port when it ends with "]".
  const bare = domains.filter((d) => !d.includes(':') || ((d.match(/:/g) ?? []).length > 2 && d.endsWith(']')));
  const present = new Set(bare);
  const redundant = (d: string) =>
    [d.replace(/\.svc\.cluster\.local$/, ''), d.replace(/\.svc$/, '')].some((short) => short !== d && present.has(short));
  const kept = bare.filter((d) => !redundant(d));
  const max = 2;
  return kept.length > max ? `${kept.slice(0, max).join(', ')} + ${kept.length - max} more...` : kept.join(', ');
}

/** Routes to PassthroughCluster (the allow_any catch-all) are not listed, as in istioctl. */
function isPassthrough(route: Json): boolean {
  return str(obj(route.route).cluster) === PASSTHROUGH;
}

function routeRows(rc: Json): string[][] {
  return arr(rc.virtual_hosts).flatMap((v) => {
    const vh = obj(v);
    const domains = describeRouteDomains(arr(vh.domains).map(str));
    const routes = arr(vh.routes).map(obj);
    if (routes.length === 0) return [[str(rc.name), domains, '/*', '404']];
    return routes
      .filter((r) => !isPassthrough(r))
      .map((r) => [str(rc.name), domains, describeRouteMatch(r.match), renderIstioConfig(r.metadata)]);
  });
}

export function routeTable(dump: unknown, filter: RouteFilter = {}): string {
  const header = ['NAME', 'DOMAINS', 'MATCH', 'VIRTUAL SERVICE'];
  return tabwrite([header, ...selectRoutes(dump, filter).flatMap(routeRows)], { padding: 5 });
}

// ---------------------------------------------------------------------------------------------
// Endpoints.

export interface EndpointFilter {
  port?: number;
  address?: string;
  cluster?: string;
  status?: string;
}

/**
 * Every ClusterLoadAssignment the dump has: the EDS section, then the load_assignment of clusters that
 * carry their own (STATIC, STRICT_DNS). istioctl reads /clusters instead, which lists the same hosts
 * (STRICT_DNS ones as resolved addresses, where the dump has the host names).
 */
export function dumpEndpoints(dump: unknown): Json[] {
  const s = section(dump, 'EndpointsConfigDump');
  const eds = [...arr(s.dynamic_endpoint_configs), ...arr(s.static_endpoint_configs)].map((e) => obj(obj(e).endpoint_config));
  const seen = new Set(eds.map((e) => str(e.cluster_name)));
  const own = dumpClusters(dump)
    .filter((c) => c.load_assignment !== undefined && !seen.has(str(c.name)))
    .map((c) => ({ ...obj(c.load_assignment), cluster_name: str(obj(c.load_assignment).cluster_name) || str(c.name) }));
  return [...eds, ...own];
}

interface EndpointRow {
  address: string;
  port: number;
  status: string;
  cluster: string;
}

function socketOf(lb: Json): Json {
  return obj(obj(obj(obj(lb).endpoint).address).socket_address);
}

/** lb_endpoints health_status, when EDS set one other than UNKNOWN; /clusters reports the rest HEALTHY. */
function endpointStatus(lb: Json): string {
  const s = str(lb.health_status);
  return s && s !== 'UNKNOWN' ? s : 'HEALTHY';
}

function lbEndpoints(assignment: Json): Json[] {
  return arr(assignment.endpoints).flatMap((loc) => arr(obj(loc).lb_endpoints).map(obj));
}

function endpointMatches(row: EndpointRow, f: EndpointFilter): boolean {
  const same = (a: string, b: string | undefined) => b === undefined || a.toLowerCase() === b.toLowerCase();
  return (
    same(row.address, f.address) &&
    (f.port === undefined || row.port === f.port) &&
    same(row.cluster, f.cluster) &&
    same(row.status, f.status)
  );
}

function rowOf(assignment: Json, lb: Json): EndpointRow {
  const sock = socketOf(lb);
  return { address: str(sock.address), port: num(sock.port_value) ?? 0, status: endpointStatus(lb), cluster: str(assignment.cluster_name) };
}

/** The matching assignments, each cut down to its matching endpoints (for -o json). */
export function selectEndpoints(dump: unknown, filter: EndpointFilter = {}): Json[] {
  return dumpEndpoints(dump).flatMap((a) => {
    const kept = lbEndpoints(a).filter((lb) => endpointMatches(rowOf(a, lb), filter));
    return kept.length > 0 ? [{ ...a, endpoints: [{ lb_endpoints: kept }] }] : [];
  });
}

/** istioctl's order: address (as a string), port, cluster name. */
function compareEndpoints(a: EndpointRow, b: EndpointRow): number {
  return cmp(a.address, b.address) || a.port - b.port || cmp(a.cluster, b.cluster);
}

export function endpointTable(dump: unknown, filter: EndpointFilter = {}): string {
  const rows = selectEndpoints(dump, filter)
    .flatMap((a) => lbEndpoints(a).map((lb) => rowOf(a, lb)))
    .sort(compareEndpoints);
  const cells = rows.map((r) => [r.port ? `${r.address}:${r.port}` : r.address, r.status, 'OK', r.cluster]);
  return tabwrite([['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'], ...cells], { padding: 5 });
}

// ---------------------------------------------------------------------------------------------
// One entry point for a CLI.

export type ProxyConfigKind = 'listener' | 'cluster' | 'route' | 'endpoint';
export type ProxyConfigFilters = ListenerFilter & ClusterFilter & RouteFilter & EndpointFilter;

/** `istioctl proxy-config KIND` with its filters; output "short" (the table) or "json". */
export function proxyConfigView(
  kind: ProxyConfigKind,
  dump: unknown,
  filters: ProxyConfigFilters = {},
  output: 'short' | 'json' = 'short',
): string {
  // Listener JSON drops the Any's "@type": istioctl prints Listener messages, not Any wrappers.
  const strip = (list: Json[]): Json[] => list.map((o) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== '@type')));
  switch (kind) {
    case 'listener':
      return output === 'json' ? toJson(strip(selectListeners(dump, filters))) : listenerTable(dump, filters);
    case 'cluster':
      return output === 'json' ? toJson(strip(selectClusters(dump, filters))) : clusterTable(dump, filters);
    case 'route':
      return output === 'json' ? toJson(strip(selectRoutes(dump, filters))) : routeTable(dump, filters);
    case 'endpoint':
      return output === 'json' ? toJson(selectEndpoints(dump, filters)) : endpointTable(dump, filters);
  }
}
