/**
 * Conntrack evidence: parse `conntrack -L` and `/proc/net/nf_conntrack`, and read a probe's legs.
 *
 * Seed 000 diagnosed its incident from exactly this table: a connection the sidecar answered itself
 * leaves only the client's leg (reply from 127.0.0.1:15001), while a passthrough leaves a second,
 * direct leg from Envoy to the real server.
 */

export interface Tuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

export interface ConntrackEntry {
  protocol: string;
  /** Seconds left before the entry expires (third numeric column). */
  timeout?: number;
  /** TCP/SCTP state such as TIME_WAIT; udp and icmp have none. */
  state?: string;
  original: Tuple;
  reply: Tuple;
  /** Bracketed flags without the brackets, e.g. ASSURED, UNREPLIED. */
  flags: string[];
  mark?: number;
  zone?: number;
  raw: string;
}

/** Protocols whose tuples carry ports; for the rest ports are recorded as 0. */
const PORTED = new Set(['tcp', 'udp', 'udplite', 'sctp', 'dccp']);

type PartialTuple = Partial<Tuple>;

export function parseConntrack(text: string): ConntrackEntry[] {
  const entries: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const entry = parseLine(line.trim());
    if (entry) entries.push(entry);
  }
  return entries;
}

const isNum = (s: string | undefined): s is string => s !== undefined && /^\d+$/.test(s);

/** One line, or undefined for anything that is not an entry (e.g. the "N flow entries" summary). */
function parseLine(line: string): ConntrackEntry | undefined {
  let tokens = line.split(/\s+/);
  // /proc/net/nf_conntrack and `-o extended` prefix the L3 family: "ipv4     2".
  if ((tokens[0] === 'ipv4' || tokens[0] === 'ipv6') && isNum(tokens[1])) tokens = tokens.slice(2);
  const [protocol, protoNum, timeout] = tokens;
  if (protocol === undefined || !isNum(protoNum) || !isNum(timeout)) return undefined;
  const body = parseBody(tokens.slice(3));
  if (!body) return undefined;
  const original = completeTuple(body.tuples[0], protocol);
  const reply = completeTuple(body.tuples[1], protocol);
  if (!original || !reply) return undefined;
  const entry: ConntrackEntry = { protocol, timeout: Number(timeout), original, reply, flags: body.flags, raw: line };
  if (body.state !== undefined) entry.state = body.state;
  if (body.mark !== undefined) entry.mark = body.mark;
  if (body.zone !== undefined) entry.zone = body.zone;
  return entry;
}

interface Body {
  state?: string;
  tuples: PartialTuple[];
  flags: string[];
  mark?: number;
  zone?: number;
}

function parseBody(tokens: string[]): Body | undefined {
  const body: Body = { tuples: [{}], flags: [] };
  tokens.forEach((tok, i) => {
    if (tok.startsWith('[') && tok.endsWith(']')) {
      // Timestamps like [start=...] are bracketed too; only bare words are flags.
      const flag = tok.slice(1, -1);
      if (!flag.includes('=')) body.flags.push(flag);
    } else if (tok.includes('=')) {
      assignKeyValue(body, tok);
    } else if (i === 0) {
      body.state = tok;
    }
  });
  return body.tuples.length >= 2 ? body : undefined;
}

function assignKeyValue(body: Body, tok: string): void {
  const eq = tok.indexOf('=');
  const key = tok.slice(0, eq);
  const value = tok.slice(eq + 1);
  if (key === 'mark' && isNum(value)) body.mark = Number(value);
  else if (key === 'zone' && isNum(value)) body.zone = Number(value);
  else if (key === 'src' || key === 'dst') setTupleField(body, key, value);
  else if ((key === 'sport' || key === 'dport') && isNum(value)) setTupleField(body, key, Number(value));
}

/** The second src= (or any repeated tuple key) starts the reply tuple. */
function setTupleField<K extends keyof Tuple>(body: Body, key: K, value: Tuple[K]): void {
  let current = body.tuples[body.tuples.length - 1] as PartialTuple;
  if (current[key] !== undefined) {
    if (body.tuples.length >= 2) return; // a third tuple (e.g. expectations) is not ours to read
    current = {};
    body.tuples.push(current);
  }
  current[key] = value;
}

function completeTuple(t: PartialTuple | undefined, protocol: string): Tuple | undefined {
  if (!t || t.src === undefined || t.dst === undefined) return undefined;
  if (PORTED.has(protocol)) {
    if (t.sport === undefined || t.dport === undefined) return undefined;
    return { src: t.src, dst: t.dst, sport: t.sport, dport: t.dport };
  }
  return { src: t.src, dst: t.dst, sport: t.sport ?? 0, dport: t.dport ?? 0 };
}

function entryKey(e: ConntrackEntry): string {
  const o = e.original;
  return `${e.protocol} ${o.src} ${o.sport} ${o.dst} ${o.dport}`;
}

/** Entries present after but not before; identity is protocol + original tuple (state changes don't count). */
export function newEntries(before: ConntrackEntry[], after: ConntrackEntry[]): ConntrackEntry[] {
  const seen = new Set(before.map(entryKey));
  return after.filter((e) => !seen.has(entryKey(e)));
}

export interface ProbeLegs {
  client?: ConntrackEntry;
  others: ConntrackEntry[];
}

function isLoopbackAddr(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}

/**
 * Split a probe's fresh entries into the client's own leg and everything else the probe caused
 * (typically Envoy's upstream leg). Dropped from `others`: loopback-only entries (agent and admin
 * chatter) and connections *into* the pod (original destination the pod's IP): a probe only makes
 * outbound connections, while on a cluster the kubelet's readiness probes to the sidecar (15021)
 * and the app arrive all the time.
 */
export function legsOfProbe(fresh: ConntrackEntry[], podIp: string, clientPort: number): ProbeLegs {
  const tcp = fresh.filter((e) => e.protocol === 'tcp');
  const client = tcp.find((e) => e.original.src === podIp && e.original.sport === clientPort);
  const others = tcp.filter(
    (e) => e !== client && !(isLoopbackAddr(e.original.src) && isLoopbackAddr(e.original.dst)) && e.original.dst !== podIp,
  );
  return client ? { client, others } : { others };
}

function endpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * The port a REDIRECT sent the connection to: the reply then comes from loopback instead of the
 * address the client dialled. Undefined for direct or DNAT'd (non-loopback) connections.
 */
export function redirectPort(e: ConntrackEntry): number | undefined {
  const { original: o, reply: r } = e;
  if (!isLoopbackAddr(r.src)) return undefined;
  const same = r.src === o.dst && r.sport === o.dport;
  return same ? undefined : r.sport;
}

function pathNote(e: ConntrackEntry): string {
  const port = redirectPort(e);
  if (port !== undefined) return `(redirected to ${port})`;
  const { original: o, reply: r } = e;
  if (r.src === o.dst && r.sport === o.dport) return '(direct)';
  return `(translated to ${endpoint(r.src, r.sport)})`;
}

/** e.g. `10.64.192.14:50498 -> 10.0.0.6:7000, reply from 127.0.0.1:15001 (redirected to 15001) TIME_WAIT`. */
export function describeLeg(e: ConntrackEntry): string {
  const { original: o, reply: r } = e;
  const proto = e.protocol === 'tcp' ? '' : `${e.protocol} `;
  const parts = [
    `${proto}${endpoint(o.src, o.sport)} -> ${endpoint(o.dst, o.dport)},`,
    `reply from ${endpoint(r.src, r.sport)}`,
    pathNote(e),
  ];
  if (e.state) parts.push(e.state);
  // UNREPLIED matters: the far side never answered (blackholed SYN, dropped datagram).
  if (e.flags.includes('UNREPLIED')) parts.push('UNREPLIED');
  return parts.join(' ');
}
