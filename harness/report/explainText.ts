/** `egress-lab explain`'s text: one block per connection, each match with what decided it. */
import type { ExplainResult, Explanation } from '../istio/explain.ts';
import { describeChainMatch } from '../model/chainMatch.ts';

function callLine(e: Explanation): string {
  const c = e.call;
  const what = c.tls
    ? `TLS${c.sni ? `, SNI ${c.sni}` : ', no SNI'}`
    : c.protocol === 'http'
      ? `HTTP, Host ${c.hostHeader ?? '(none)'}`
      : 'TCP';
  return `${c.address}:${c.port} (${what})`;
}

function row(label: string, value: string, why?: string): string {
  return `  ${label.padEnd(13)} ${value}${why ? `\n  ${''.padEnd(13)}   ${why}` : ''}`;
}

function routeMatchText(m: Record<string, unknown> | undefined): string | undefined {
  if (!m) return undefined;
  const path = ['prefix', 'path', 'safe_regex', 'path_separated_prefix'].find((k) => k in m);
  return path
    ? `match ${path} ${JSON.stringify(m[path])}${Object.keys(m).length > 1 ? ` and ${JSON.stringify(m)}` : ''}`
    : `match ${JSON.stringify(m)}`;
}

export function explanationLines(e: Explanation): string[] {
  const m = e.match;
  const lines = [callLine(e)];
  if (m.listener) lines.push(row('listener', m.listener, e.listenerBy));
  if (m.listener && (m.filterChain || m.cluster || m.routeConfig || e.filterChainMatch)) {
    const match = e.filterChainMatch ? describeChainMatch(e.filterChainMatch) : 'ALL';
    lines.push(
      row(
        'filter chain',
        m.filterChain ?? '(unnamed)',
        match === 'ALL' ? 'matches every connection that reaches it (no filter_chain_match)' : `filter_chain_match: ${match}`,
      ),
    );
  }
  if (m.routeConfig) lines.push(row('route config', m.routeConfig));
  if (m.virtualHost) lines.push(row('virtual host', m.virtualHost, e.domains ? `domains ${e.domains.join(', ')}` : undefined));
  if (m.route !== undefined || e.routeMatch) lines.push(row('route', m.route || '(unnamed)', routeMatchText(e.routeMatch)));
  if (m.cluster) {
    const eps = e.endpoints && e.endpoints.length > 0 ? e.endpoints.join(', ') : 'no endpoints';
    lines.push(
      row('cluster', m.cluster, e.clusterInDump ? `${e.clusterType}: ${eps}` : 'not in the dump: Envoy answers "no cluster match" (NC)'),
    );
  }
  if (m.error) lines.push(row('stops', m.error));
  return lines;
}

export function renderExplain(r: ExplainResult, simulatedBy: string): string {
  const d = r.dump;
  const who = [d.node ?? 'unknown node', d.istioVersion ? `Istio ${d.istioVersion}` : 'Istio version not in the dump'].join(', ');
  const head = [
    `config dump ${r.file}: ${who} (${d.listeners} listeners, ${d.clusters} clusters, ${d.routes} route configs)`,
    `decided by Istio's traffic simulation (pilot/pkg/simulation) from ${simulatedBy}, over this dump as istioctl reads it`,
  ];
  if (d.renamed.length > 0) head.push(`deprecated filter names read as their current ones: ${d.renamed.join('; ')}`);
  return [...head, ...r.explanations.flatMap((e) => ['', ...explanationLines(e)])].join('\n');
}
