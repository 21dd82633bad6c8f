/**
 * The run report page: one self-contained HTML file (inline CSS and SVG, no external fonts, scripts
 * or images) with the totals, a summary table (failures first), and per scenario every probe's
 * command, checks, the path the model predicts its connection took (drawn as inline SVG), the
 * conntrack legs and the stats that moved. Readable without JavaScript: sections are <details>;
 * the few lines of inline script only add "expand all / collapse all" and open a section when its
 * link is followed.
 *
 * Every piece of text from the run (probe output, error messages, scenario fields) goes through
 * `escapeHtml`, which also turns control characters (\r, NUL...) into visible symbols.
 */
import { describeProbe } from '../probes/registry.ts';
import { describeLeg, redirectPort, type ConntrackEntry } from '../evidence/conntrack.ts';
import { MATCH_FIELDS, type PathMatch, type PathTrace, type TraceOutcome } from '../model/pathTrace.ts';
import { describeMatch, pathHops, type PathHop } from '../model/pathDrawing.ts';
import type { Check } from '../result/assertions.ts';
import type { ProbeOutcome } from '../result/outcome.ts';
import { checksOf, summarize, type ScenarioRun, type SuiteResult, type SuiteSummary } from './suiteResult.ts';

type Status = ScenarioRun['status'];
/** Fields other modules may add later; read when present. */
type ProbeWithTrace = ProbeOutcome & { trace?: PathTrace; traceError?: string };
type RunWithNotes = ScenarioRun & { fidelityNotes?: string[]; runDir?: string };

// ---------------------------------------------------------------------------------------------
// Escaping

/** What the escapers take: a value String() turns into its text ('' for null and undefined). */
type Printable = string | number | boolean | null | undefined;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text for an attribute value (double- or single-quoted) or SVG text: &, <, >, quotes as entities;
 * C0 control characters other than tab and newline (\r, NUL, ESC...) and DEL as their Unicode
 * control pictures (␍, ␀, ␛, ␡), since a browser would drop or mangle them.
 */
export function escapeHtml(value: Printable): string {
  // eslint-disable-next-line no-control-regex -- C0 controls are matched on purpose: they are replaced by control pictures
  return String(value ?? '').replace(/[&<>"']|[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => {
    const entity = ENTITIES[c];
    if (entity) return entity;
    const code = c.charCodeAt(0);
    return String.fromCharCode(code === 0x7f ? 0x2421 : 0x2400 + code);
  });
}

const CONTROL_NAMES: Record<number, string> = { 0: '\\0', 7: '\\a', 8: '\\b', 11: '\\v', 12: '\\f', 13: '\\r', 27: '\\e' };

/** The visible form of a control character: \r, \0, \x1b... */
function controlName(code: number): string {
  return CONTROL_NAMES[code] ?? `\\x${code.toString(16).padStart(2, '0')}`;
}

/**
 * Text for element content: escaped like `escapeHtml`, but control characters are shown as
 * highlighted C-style escapes (`\r`, `\0`, `\x1b`), which every font can draw.
 */
export function escapeText(value: Printable): string {
  // eslint-disable-next-line no-control-regex -- C0 controls are matched on purpose: they are shown as C-style escapes
  return String(value ?? '').replace(/[&<>"']|[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => {
    const entity = ENTITIES[c];
    if (entity) return entity;
    const code = c.charCodeAt(0);
    return `<span class="ctl" title="U+${code.toString(16).toUpperCase().padStart(4, '0')}">${controlName(code)}</span>`;
  });
}

/** An anchor id made of [a-z0-9-] only. */
export function anchorId(run: Pick<ScenarioRun, 'scenario' | 'attempt'>): string {
  const slug =
    run.scenario
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'scenario';
  return `s-${slug}-${run.attempt}`;
}

// ---------------------------------------------------------------------------------------------
// Ordering and totals

const STATUS_ORDER: Record<Status, number> = { failed: 0, error: 1, interrupted: 2, passed: 3, skipped: 4 };

/** Failed, error, interrupted, then passed, then skipped; the run order within each group. */
export function orderRuns(runs: readonly ScenarioRun[]): ScenarioRun[] {
  return runs
    .map((run, i) => ({ run, i }))
    .sort((a, b) => STATUS_ORDER[a.run.status] - STATUS_ORDER[b.run.status] || a.i - b.i)
    .map((x) => x.run);
}

/** Failing probes (not ok) first, in scenario order within each group. */
export function orderProbes<T extends { ok: boolean }>(probes: readonly T[]): T[] {
  return [...probes.filter((p) => !p.ok), ...probes.filter((p) => p.ok)];
}

/** The suite summary plus what only the page shows. */
export interface Totals extends SuiteSummary {
  runs: number;
  probesPassed: number;
  reasoned: number;
}

/** The suite's summary (shared with the CLI and JUnit) plus what only the page shows. */
export function totals(r: SuiteResult): Totals {
  const probes = r.runs.flatMap((x) => x.outcome?.probes ?? []);
  const checks = r.runs.flatMap((x) => checksOf(x.outcome));
  return {
    ...summarize(r),
    runs: r.runs.length,
    probesPassed: probes.filter((p) => p.ok).length,
    reasoned: checks.filter((c) => c.basis === 'reasoned').length,
  };
}

// ---------------------------------------------------------------------------------------------
// Small formatters

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function formatTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso || '–';
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

const STATUS_LABEL: Record<Status, string> = {
  passed: 'passed',
  failed: 'failed',
  error: 'error',
  interrupted: 'interrupted',
  skipped: 'skipped',
};

function badge(status: Status): string {
  return `<span class="badge b-${status}">${STATUS_LABEL[status]}</span>`;
}

function mark(ok: boolean): string {
  return ok ? '<span class="ok" title="holds">✔</span>' : '<span class="bad" title="does not hold">✘</span>';
}

/** The client command the probe ran, as a user would type it. */
export function probeCommand(p: ProbeOutcome['probe']): string {
  return describeProbe(p);
}

function statEntries(diff: Record<string, number> | undefined): [string, number][] {
  return diff ? Object.entries(diff) : [];
}

function clip(s: string, n = 400): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

// ---------------------------------------------------------------------------------------------
// The path drawing

const OUTCOME_TEXT: Record<TraceOutcome, string> = {
  forwarded: 'forwarded',
  'local-reply': 'local reply',
  closed: 'closed',
  waits: 'waits',
  direct: 'direct',
};

const BOX_H = 52;
const GAP_X = 34;
const GAP_Y = 34;
const MAX_W = 1000;
const CHAR_W = 7.3; // DejaVu Sans Mono / Menlo at 12px
const MAX_LABEL = 38;

function boxWidth(label: string): number {
  return Math.round(Math.min(Math.max(Math.min(label.length, MAX_LABEL) * CHAR_W + 28, 104), MAX_LABEL * CHAR_W + 28));
}

/** Inline SVG of the hops, left to right, wrapping onto further rows; coloured by the trace's outcome. */
export function renderPathSvg(hops: PathHop[], outcome: TraceOutcome, uid: string): string {
  if (hops.length === 0) return '<p class="muted">empty path trace</p>';
  interface Placed {
    hop: PathHop;
    x: number;
    y: number;
    w: number;
    row: number;
  }
  const placed: Placed[] = [];
  let x = 0;
  let row = 0;
  for (const hop of hops) {
    const w = boxWidth(hop.label);
    if (x > 0 && x + w > MAX_W) {
      row++;
      x = 0;
    }
    placed.push({ hop, x: x + 1, y: row * (BOX_H + GAP_Y) + 1, w, row });
    x += w + GAP_X;
  }
  const width = Math.max(...placed.map((p) => p.x + p.w)) + 2;
  const height = (row + 1) * BOX_H + row * GAP_Y + 2;
  const marker = `arrow-${uid}`;
  const parts: string[] = [];
  parts.push(
    `<svg class="path o-${outcome}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ` +
      `role="img" aria-label="${escapeHtml(`path: ${hops.map((h) => h.label).join(' → ')} (${OUTCOME_TEXT[outcome]})`)}">`,
  );
  parts.push(
    `<defs><marker id="${marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">` +
      `<path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>`,
  );
  placed.forEach((p, i) => {
    const next = placed[i + 1];
    if (!next) return;
    const midY = p.y + BOX_H / 2;
    if (next.row === p.row) {
      parts.push(`<path class="arrow" d="M${p.x + p.w},${midY} L${next.x - 2},${midY}" marker-end="url(#${marker})"/>`);
    } else {
      // Down from the last box of the row, back to the left, down into the first box of the next.
      const cx = p.x + p.w / 2;
      const turnY = p.y + BOX_H + GAP_Y / 2;
      const nx = next.x + next.w / 2;
      parts.push(
        `<path class="arrow" d="M${cx},${p.y + BOX_H} L${cx},${turnY} L${nx},${turnY} L${nx},${next.y - 2}" marker-end="url(#${marker})"/>`,
      );
    }
  });
  placed.forEach((p, i) => {
    const last = i === placed.length - 1;
    const label = p.hop.label.length > MAX_LABEL ? `${p.hop.label.slice(0, MAX_LABEL - 1)}…` : p.hop.label;
    const tip = p.hop.detail ? `${p.hop.label} — ${p.hop.detail}` : p.hop.label;
    parts.push(
      `<g class="hop${last ? ' hop-last' : ''}" data-kind="${escapeHtml(p.hop.kind)}" data-label="${escapeHtml(p.hop.label)}">` +
        `<title>${escapeHtml(tip)}</title>` +
        `<rect class="hop-box" x="${p.x}" y="${p.y}" width="${p.w}" height="${BOX_H}" rx="9" ry="9"/>` +
        `<text class="hop-kind" x="${p.x + p.w / 2}" y="${p.y + 18}" text-anchor="middle">${escapeHtml(p.hop.kind)}</text>` +
        `<text class="hop-label" x="${p.x + p.w / 2}" y="${p.y + 37}" text-anchor="middle">${escapeHtml(label)}</text>` +
        `</g>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** With real Istio: the path Istio's own simulation gives, and whether the model's drawing agrees with it. */
function renderIstioPath(istio: PathMatch | undefined, model: PathMatch | undefined): string {
  if (!istio) return '';
  const agrees = model !== undefined && MATCH_FIELDS.every((f) => istio[f] === model[f]);
  return `<p class="istio-path">Istio's simulation (pilot/pkg/simulation): <code>${escapeText(describeMatch(istio))}</code>${agrees ? ' — the model agrees' : ''}</p>`;
}

function renderTrace(trace: PathTrace | undefined, uid: string, traceError?: string, istioPath?: PathMatch): string {
  if (!trace) {
    return `<div class="path-wrap"><p class="no-trace">no path trace</p>${traceError ? `<p class="trace-error">${escapeText(traceError)}</p>` : ''}</div>`;
  }
  const hops = pathHops(trace);
  const details = hops.filter((h) => h.detail);
  return (
    `<div class="path-wrap">` +
    `<div class="path-head"><span class="outcome o-${trace.outcome}">${OUTCOME_TEXT[trace.outcome]}</span>` +
    `<span class="muted">${trace.captured ? 'captured by iptables → sidecar' : 'not captured: iptables lets it go direct'} · ${hops.length} hops (model)</span></div>` +
    `<div class="path-scroll">${renderPathSvg(hops, trace.outcome, uid)}</div>` +
    renderIstioPath(istioPath, trace.match) +
    (details.length
      ? `<details class="hop-details"><summary>hop details</summary><dl>${details
          .map((h) => `<dt><span class="kind">${escapeText(h.kind)}</span> ${escapeText(h.label)}</dt><dd>${escapeText(h.detail)}</dd>`)
          .join('')}</dl></details>`
      : '') +
    (trace.notes.length ? `<ul class="notes">${trace.notes.map((n) => `<li>${escapeText(n)}</li>`).join('')}</ul>` : '') +
    `</div>`
  );
}

// ---------------------------------------------------------------------------------------------
// Evidence under the drawing

function renderLegs(o: ProbeOutcome): string {
  if (!o.legs) return '<div class="evidence legs-box"><h5>conntrack legs</h5><p class="muted">not recorded</p></div>';
  const legs: { role: string; e: ConntrackEntry }[] = [];
  if (o.legs.client) legs.push({ role: 'client', e: o.legs.client });
  for (const e of o.legs.others) legs.push({ role: 'sidecar', e });
  if (legs.length === 0) return '<div class="evidence legs-box"><h5>conntrack legs</h5><p class="muted">none</p></div>';
  const rows = legs
    .map(({ role, e }) => {
      const port = redirectPort(e);
      const tag = port !== undefined ? `<span class="tag t-redirect">→ ${port}</span>` : `<span class="tag t-direct">direct</span>`;
      return `<li class="leg${port !== undefined ? ' redirected' : ''}"><span class="role">${role}</span>${tag}<code>${escapeText(describeLeg(e))}</code></li>`;
    })
    .join('');
  return `<div class="evidence legs-box"><h5>conntrack legs <span class="count">${legs.length}</span></h5><ul class="legs">${rows}</ul></div>`;
}

function renderStats(o: ProbeOutcome): string {
  if (o.statsDiff === undefined) return '<div class="evidence"><h5>stats that moved</h5><p class="muted">no sidecar stats</p></div>';
  const moved = statEntries(o.statsDiff);
  if (moved.length === 0) return '<div class="evidence"><h5>stats that moved</h5><p class="muted">none</p></div>';
  const rows = moved
    .map(([k, v]) => `<li><code>${escapeText(k)}</code><span class="delta">${v >= 0 ? '+' : ''}${escapeText(v)}</span></li>`)
    .join('');
  return `<div class="evidence"><h5>stats that moved <span class="count">${moved.length}</span></h5><ul class="stats">${rows}</ul></div>`;
}

function renderClientSaw(o: ProbeOutcome): string {
  const r = o.result;
  if (!r) return '';
  const facts: [string, string][] = [
    ['connect', r.connect],
    ['end', r.end],
    ['error', r.errorClass + (r.error ? ` (${r.error})` : '')],
    ['bytes', String(r.receivedBytes)],
    ['time', `${r.durationMs} ms`],
  ];
  if (r.address) facts.push(['dialled', r.address]);
  if (r.exitCode !== undefined) facts.push(['curl exit', String(r.exitCode)]);
  if (r.httpStatus !== undefined) facts.push(['HTTP', String(r.httpStatus)]);
  if (r.serverVersion) facts.push(['greeting', r.serverVersion]);
  const shown = r.received || r.reply || r.body || r.curlError || '';
  return (
    `<div class="client-saw"><h5>client saw</h5><dl class="facts">${facts
      .map(([k, v]) => `<div><dt>${escapeText(k)}</dt><dd>${escapeText(v)}</dd></div>`)
      .join('')}</dl>` +
    (shown ? `<pre class="received">${escapeText(clip(JSON.stringify(shown)))}</pre>` : '') +
    `</div>`
  );
}

function renderChecks(checks: Check[]): string {
  if (checks.length === 0) return '<p class="muted">no checks</p>';
  const rows = checks
    .map(
      (c) =>
        `<tr class="${c.ok ? 'c-ok' : 'c-bad'}"><td class="m">${mark(c.ok)}</td><td><span class="ev ev-${escapeHtml(c.evidence)}">${escapeText(c.evidence)}</span></td>` +
        `<td>${escapeText(c.what)}</td><td class="val expected">${escapeText(c.expected)}</td><td class="val seen">${escapeText(c.seen)}</td>` +
        `<td>${c.basis === 'reasoned' ? '<span class="reasoned" title="reasoned from Istio/Envoy source, not observed">reasoned</span>' : '<span class="muted">observed</span>'}</td></tr>`,
    )
    .join('');
  return (
    `<table class="checks"><thead><tr><th></th><th>evidence</th><th>what</th><th>expected</th><th>seen</th><th>basis</th></tr></thead>` +
    `<tbody>${rows}</tbody></table>`
  );
}

function renderProbe(o: ProbeWithTrace, uid: string): string {
  const p = o.probe;
  const failedChecks = o.checks.filter((c) => !c.ok).length;
  return (
    `<article class="probe ${o.ok ? 'p-ok' : 'p-bad'}" id="${uid}">` +
    `<header><span class="pmark">${mark(o.ok)}</span><h4>${escapeText(p.name)}</h4><span class="from">from ${escapeText(p.from)}</span>` +
    `<code class="cmd">${escapeText(probeCommand(p))}</code>` +
    `<span class="pcount">${o.checks.length - failedChecks}/${o.checks.length} checks</span></header>` +
    (p.description ? `<p class="pdesc">${escapeText(p.description)}</p>` : '') +
    (p.expect?.note ? `<p class="pnote">${escapeText(p.expect.note)}</p>` : '') +
    (o.error ? `<div class="error-box"><strong>probe error</strong> ${escapeText(o.error)}</div>` : '') +
    renderChecks(o.checks) +
    `<h5 class="path-title">path</h5>${renderTrace(o.trace, uid, o.traceError, o.istioPath)}` +
    `<div class="probe-grid">${renderLegs(o)}${renderStats(o)}${renderClientSaw(o)}</div>` +
    `</article>`
  );
}

// ---------------------------------------------------------------------------------------------
// Scenario sections and the page

function probeCounts(run: ScenarioRun): string {
  const probes = run.outcome?.probes;
  if (!probes) return '<span class="muted">–</span>';
  const ok = probes.filter((p) => p.ok).length;
  return `<span class="${ok === probes.length ? '' : 'bad-text'}">${ok}/${probes.length}</span>`;
}

function tagList(tags: readonly string[]): string {
  return tags.map((t) => `<span class="chip">${escapeText(t)}</span>`).join(' ');
}

function renderSummaryTable(runs: ScenarioRun[], multiAttempt: boolean): string {
  const rows = runs
    .map(
      (run) =>
        `<tr class="r-${run.status}"><td>${badge(run.status)}</td>` +
        `<td><a href="#${anchorId(run)}">${escapeText(run.scenario)}</a>${multiAttempt ? ` <span class="muted">#${run.attempt}</span>` : ''}` +
        (run.reason && run.status !== 'passed' ? `<div class="reason">${escapeText(clip(run.reason, 160))}</div>` : '') +
        `</td><td>${escapeText(run.istio)}</td><td>${tagList(run.tags)}</td><td class="num">${probeCounts(run)}</td>` +
        `<td class="num">${run.status === 'skipped' ? '<span class="muted">–</span>' : formatDuration(run.durationMs)}</td></tr>`,
    )
    .join('');
  return (
    `<table class="summary"><thead><tr><th>status</th><th>scenario</th><th>Istio</th><th>tags</th><th class="num">probes</th><th class="num">time</th></tr></thead>` +
    `<tbody>${rows}</tbody></table>`
  );
}

function renderScenario(run: RunWithNotes, multiAttempt: boolean): string {
  const id = anchorId(run);
  const o = run.outcome;
  const open = run.status === 'failed' || run.status === 'error' || run.status === 'interrupted';
  const notes = o?.fidelityNotes ?? run.fidelityNotes ?? [];
  const runDir = o?.runDir ?? run.runDir;
  const meta: string[] = [
    `Istio ${escapeText(run.istio)}`,
    `backend ${escapeText(run.backend)}`,
    `started ${escapeText(formatTime(run.startedAt))}`,
  ];
  if (run.status !== 'skipped') meta.push(formatDuration(run.durationMs));
  if (multiAttempt) meta.push(`attempt ${run.attempt}`);
  const body: string[] = [];
  body.push(`<p class="desc">${escapeText(run.description)}</p>`);
  body.push(
    `<div class="meta">${meta.map((m) => `<span>${m}</span>`).join('')}${run.tags.length ? `<span>${tagList(run.tags)}</span>` : ''}</div>`,
  );
  if (runDir) body.push(`<p class="rundir">run directory <code>${escapeText(runDir)}</code></p>`);
  if (o?.timings) {
    body.push(
      `<p class="timings muted">lab up ${formatDuration(o.timings.upMs)} · probes ${formatDuration(o.timings.probesMs)} · teardown ${formatDuration(o.timings.downMs)}</p>`,
    );
  }
  if (run.reason && run.status !== 'passed') {
    body.push(
      `<div class="${run.status === 'skipped' ? 'info-box' : 'error-box'}"><strong>${run.status === 'skipped' ? 'skipped' : run.status === 'interrupted' ? 'interrupted' : 'error'}</strong> ${escapeText(run.reason)}</div>`,
    );
  } else if (o?.error) {
    body.push(`<div class="error-box"><strong>error</strong> ${escapeText(o.error)}</div>`);
  }
  if (o?.addresses?.length) {
    const rows = o.addresses
      .map(
        (m) =>
          `<tr><td>${escapeText(m.what)}</td><td>${escapeText(m.name)}</td><td><code>${escapeText(m.scenario)}</code></td><td><code>${escapeText(m.real)}</code></td></tr>`,
      )
      .join('');
    body.push(
      `<div class="addresses"><h5>addresses (the probes and checks used the real ones)</h5><table><thead><tr><th>what</th><th>name</th><th>scenario</th><th>real</th></tr></thead><tbody>${rows}</tbody></table></div>`,
    );
  }
  if (notes.length)
    body.push(`<div class="fidelity"><h5>fidelity notes</h5><ul>${notes.map((n) => `<li>${escapeText(n)}</li>`).join('')}</ul></div>`);
  if (o && o.podChecks.length) body.push(`<div class="podchecks"><h5>pod state after set-up</h5>${renderChecks(o.podChecks)}</div>`);
  if (o) {
    const probes = orderProbes(o.probes as ProbeWithTrace[]);
    probes.forEach((p, i) => body.push(renderProbe(p, `${id}-p${i}-${p.probe.name.replace(/[^a-zA-Z0-9-]/g, '')}`)));
    if (probes.length === 0 && run.status !== 'skipped') body.push('<p class="muted">no probe ran</p>');
  }
  const probesSummary = o ? (o.probes.length ? `${o.probes.filter((p) => p.ok).length}/${o.probes.length} probes` : 'no probes ran') : '';
  return (
    `<details class="scenario s-${run.status}" id="${id}"${open ? ' open' : ''}>` +
    `<summary>${badge(run.status)}<span class="sname">${escapeText(run.scenario)}</span>` +
    `<span class="sdesc">${escapeText(clip(run.description, 140))}</span><span class="sprobes">${probesSummary}</span></summary>` +
    `<div class="sbody">${body.join('')}</div></details>`
  );
}

const STATUS_MEANING: Record<Status, string> = {
  failed: 'an expectation did not hold',
  error: 'the lab could not be set up or torn down',
  interrupted: 'stopped by Ctrl-C or the run timeout',
  passed: 'every expectation held',
  skipped: 'not run',
};

function renderLegend(): string {
  const swatch = (o: TraceOutcome, text: string) =>
    `<span class="lg"><svg width="26" height="16" aria-hidden="true"><rect class="sw o-${o}" x="1" y="1" width="24" height="14" rx="4"/></svg>${text}</span>`;
  return (
    `<section class="legend"><h2>Legend</h2><div class="legend-grid">` +
    `<div><h5>status</h5>${(Object.keys(STATUS_MEANING) as Status[]).map((s) => `<span class="lg">${badge(s)} ${STATUS_MEANING[s]}</span>`).join('')}</div>` +
    `<div><h5>path outcome (model)</h5>${swatch('forwarded', 'forwarded upstream')}${swatch('local-reply', 'local reply by the sidecar')}` +
    `${swatch('closed', 'closed')}${swatch('waits', 'waits / hangs')}${swatch('direct', 'direct, bypasses the sidecar')}</div>` +
    `<div><h5>checks</h5><span class="lg">${mark(true)} expectation holds</span><span class="lg">${mark(false)} does not hold</span>` +
    `<span class="lg"><span class="reasoned">reasoned</span> expectation derived from Istio/Envoy source, not observed</span>` +
    `<span class="lg"><span class="tag t-redirect">→ 15001</span> conntrack leg redirected to the sidecar</span></div>` +
    `</div></section>`
  );
}

const CSS = `
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--soft:#f6f8fa;--bg:#fff;--accent:#0969da;
--ok:#1a7f37;--ok-bg:#dafbe1;--bad:#cf222e;--bad-bg:#ffebe9;--err:#8c1a2b;--err-bg:#ffd7d5;--int:#bc4c00;--int-bg:#fff1e5;--skip:#59636e;--skip-bg:#eaeef2;
--fw:#2da44e;--fw-bg:#e6f6ea;--lr:#bf8700;--lr-bg:#fff8c5;--cl:#cf222e;--cl-bg:#ffebe9;--wt:#8c959f;--wt-bg:#f3f4f6;--dr:#0969da;--dr-bg:#ddf4ff;
--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono","Liberation Mono",monospace}
*{box-sizing:border-box}
html{background:#eef1f4}
body{margin:0;color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","DejaVu Sans",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:28px 28px 60px}
code,pre,.mono{font-family:var(--mono);font-size:12.5px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
h1{font-size:24px;margin:0 0 2px;letter-spacing:-.01em}
h2{font-size:16px;margin:28px 0 10px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
h4{margin:0;font-size:15px}
h5{margin:0 0 6px;font-size:11px;text-transform:uppercase;letter-spacing:.07em;color:var(--muted);font-weight:600}
.muted{color:var(--muted)}
.card,.scenario,.legend{background:var(--bg);border:1px solid var(--line);border-radius:10px;box-shadow:0 1px 2px rgba(31,35,40,.06)}
header.top{display:flex;align-items:flex-start;justify-content:space-between;gap:20px;padding:22px 24px;border-left:6px solid var(--ok)}
header.top.fail{border-left-color:var(--bad)}
.verdict{display:inline-block;font-weight:700;font-size:12px;letter-spacing:.08em;padding:2px 10px;border-radius:999px;margin-right:8px;vertical-align:3px}
.verdict.pass{background:var(--ok-bg);color:var(--ok)}.verdict.fail{background:var(--bad-bg);color:var(--bad)}
.runmeta{color:var(--muted);margin-top:6px}.runmeta span+span:before{content:"·";margin:0 8px;color:#afb8c1}
.selection{margin-top:8px}
.interrupted{margin-top:12px;background:var(--int-bg);color:var(--int);border:1px solid #f5c79b;border-radius:8px;padding:8px 12px}
.tools{display:flex;gap:6px}.tools[hidden]{display:none}
.tools button{font:inherit;font-size:12px;border:1px solid var(--line);background:var(--soft);border-radius:6px;padding:4px 10px;cursor:pointer}
.tools button:hover{background:#eaeef2}
.totals{display:grid;grid-template-columns:repeat(auto-fit,minmax(120px,1fr));gap:10px;margin-top:14px}
.tile{background:var(--bg);border:1px solid var(--line);border-radius:10px;padding:10px 14px}
.tile .n{font-size:26px;font-weight:650;line-height:1.2;font-variant-numeric:tabular-nums}
.tile .l{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.06em}
.tile.t-passed .n{color:var(--ok)}.tile.t-failed .n{color:var(--bad)}.tile.t-errors .n{color:var(--err)}.tile.t-skipped .n{color:var(--skip)}.tile.t-interrupted .n{color:var(--int)}
.tile.zero .n{color:#afb8c1}
.tile .sub{font-size:12px;color:var(--muted)}
table{border-collapse:collapse;width:100%}
th{text-align:left;font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);font-weight:600;background:var(--soft)}
th,td{padding:7px 10px;border-bottom:1px solid #eaeef2;vertical-align:top}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.summary{background:var(--bg);border:1px solid var(--line);border-radius:10px;overflow:hidden;border-collapse:separate;border-spacing:0}
table.summary tbody tr:last-child td{border-bottom:0}
table.summary tbody tr:hover td{background:#f6f8fa}
table.summary td:first-child{width:1%;white-space:nowrap}
table.summary a{font-weight:600}
.summary tr.r-failed td:first-child,.summary tr.r-error td:first-child{box-shadow:inset 3px 0 0 var(--bad)}
.reason{color:var(--muted);font-size:12.5px;margin-top:2px}
.badge{display:inline-block;min-width:74px;text-align:center;font-size:11.5px;font-weight:650;letter-spacing:.04em;text-transform:uppercase;padding:2px 8px;border-radius:999px;border:1px solid transparent}
.b-passed{background:var(--ok-bg);color:var(--ok);border-color:#aceebb}.b-failed{background:var(--bad-bg);color:var(--bad);border-color:#ffcecb}
.b-error{background:var(--err-bg);color:var(--err);border-color:#ffb8b3}.b-interrupted{background:var(--int-bg);color:var(--int);border-color:#ffd8b5}
.b-skipped{background:var(--skip-bg);color:var(--skip);border-color:#d0d7de}
.chip{display:inline-block;font-size:11.5px;background:var(--soft);border:1px solid #e1e4e8;border-radius:6px;padding:0 6px;margin:1px 0;color:#424a53}
.ok{color:var(--ok);font-weight:700}.bad{color:var(--bad);font-weight:700}.bad-text{color:var(--bad);font-weight:600}
.scenario{margin:12px 0;overflow:hidden}
.scenario>summary{list-style:none;cursor:pointer;display:flex;align-items:center;gap:12px;padding:12px 16px;background:var(--bg)}
.scenario>summary::-webkit-details-marker{display:none}
.scenario>summary:before{content:"▸";color:var(--muted);font-size:12px;width:10px;transition:transform .1s}
.scenario[open]>summary:before{transform:rotate(90deg)}
.scenario[open]>summary{border-bottom:1px solid var(--line);background:var(--soft)}
.scenario.s-failed,.scenario.s-error{border-left:4px solid var(--bad)}.scenario.s-interrupted{border-left:4px solid var(--int)}
.scenario.s-passed{border-left:4px solid var(--fw)}.scenario.s-skipped{border-left:4px solid #afb8c1}
.sname{font-weight:650;font-size:15px}
.sdesc{color:var(--muted);flex:1;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-size:13px}
.sprobes{color:var(--muted);font-size:12.5px;white-space:nowrap}
.sbody{padding:14px 18px 18px}
.desc{margin:0 0 8px;font-size:14.5px}
.meta{display:flex;flex-wrap:wrap;gap:6px 0;color:var(--muted);font-size:13px}
.meta>span+span:before{content:"·";margin:0 8px;color:#afb8c1}
.rundir{margin:8px 0 0;font-size:13px;color:var(--muted)}.rundir code{color:var(--fg);background:var(--soft);padding:1px 6px;border-radius:5px;word-break:break-all}
.timings{font-size:12.5px;margin:4px 0 0}
.error-box{margin:12px 0;background:var(--bad-bg);border:1px solid #ffcecb;color:#82071e;border-radius:8px;padding:9px 12px;white-space:pre-wrap;word-break:break-word}
.info-box{margin:12px 0;background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:9px 12px}
.error-box strong,.info-box strong{margin-right:6px;text-transform:uppercase;font-size:11.5px;letter-spacing:.06em}
.fidelity{margin:12px 0;background:#fff8c5;border:1px solid #eed888;border-radius:8px;padding:8px 12px}
.fidelity ul{margin:0;padding-left:18px;font-size:13px}
.podchecks{margin:14px 0}
.probe{border:1px solid var(--line);border-radius:10px;margin:16px 0 0;padding:12px 14px 14px;background:var(--bg)}
.probe.p-bad{border-color:#ffb8b3;box-shadow:0 0 0 3px #fff0ee}
.probe>header{display:flex;flex-wrap:wrap;align-items:baseline;gap:8px 10px;margin-bottom:8px}
.pmark{font-size:16px}
.from{color:var(--muted);font-size:13px}
.cmd{background:#24292f;color:#e6edf3;padding:3px 9px;border-radius:6px;word-break:break-all}
.pcount{margin-left:auto;color:var(--muted);font-size:12.5px}
.pdesc,.pnote{margin:0 0 8px;color:#424a53;font-size:13px}.pnote{font-style:italic}
table.checks{font-size:13px;border:1px solid #eaeef2;border-radius:8px;border-collapse:separate;border-spacing:0;overflow:hidden}
table.checks td.m{width:1%;text-align:center}
table.checks tr.c-bad td{background:#fff5f4}
table.checks tbody tr:last-child td{border-bottom:0}
td.val{font-family:var(--mono);font-size:12px;word-break:break-word;white-space:pre-wrap;max-width:380px}
tr.c-bad td.seen{color:var(--bad);font-weight:600}
.ev{font-size:11px;padding:1px 6px;border-radius:5px;background:var(--soft);border:1px solid #e1e4e8;white-space:nowrap}
.ev-client{background:#ddf4ff;border-color:#b6e3ff;color:#0550ae}.ev-conntrack{background:#fbefff;border-color:#ecd8ff;color:#6639ba}
.ev-stats{background:#fff1e5;border-color:#ffd8b5;color:#953800}.ev-iptables{background:#eaeef2;color:#424a53}
.reasoned{font-size:11px;padding:1px 6px;border-radius:5px;background:#fff8c5;border:1px solid #eed888;color:#7d4e00;white-space:nowrap}
.path-title{margin-top:14px}
.probe-grid{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:4px 18px;margin-top:12px}
.probe-grid>.legs-box{grid-column:1/-1}
@media (max-width:900px){.probe-grid{grid-template-columns:1fr}}
.ctl{font-family:var(--mono);font-size:.92em;color:#953800;background:#fff1e5;border-radius:3px;padding:0 2px;margin:0 1px}
.path-wrap{background:var(--soft);border:1px solid #eaeef2;border-radius:8px;padding:10px 12px}
.path-head{display:flex;gap:10px;align-items:center;margin-bottom:8px;font-size:12.5px}
.path-scroll{overflow-x:auto}
.path-scroll svg{display:block;max-width:100%;height:auto}
.no-trace{margin:0;color:var(--muted);font-style:italic}.trace-error{margin:4px 0 0;font-size:12.5px;color:#7d4e00}
.outcome{font-size:11px;font-weight:650;text-transform:uppercase;letter-spacing:.05em;padding:1px 8px;border-radius:999px;border:1px solid}
.outcome.o-forwarded{color:#116329;background:var(--fw-bg);border-color:var(--fw)}.outcome.o-local-reply{color:#7d4e00;background:var(--lr-bg);border-color:var(--lr)}
.outcome.o-closed{color:#a40e26;background:var(--cl-bg);border-color:var(--cl)}.outcome.o-waits{color:#424a53;background:var(--wt-bg);border-color:var(--wt)}
.outcome.o-direct{color:#0550ae;background:var(--dr-bg);border-color:var(--dr)}
svg .hop-box{stroke-width:1.5;fill:#fff}
svg .hop-last .hop-box{stroke-width:2.5}
svg .hop-kind{font:600 9.5px system-ui,"DejaVu Sans",sans-serif;letter-spacing:.08em;text-transform:uppercase;fill:var(--muted)}
svg .hop-label{font:12px var(--mono);fill:var(--fg)}
svg .arrow{fill:none;stroke:#8c959f;stroke-width:1.5}
svg .arrowhead{fill:#8c959f}
svg.o-forwarded .hop-box,rect.sw.o-forwarded{stroke:var(--fw);fill:var(--fw-bg)}
svg.o-local-reply .hop-box,rect.sw.o-local-reply{stroke:var(--lr);fill:var(--lr-bg)}
svg.o-closed .hop-box,rect.sw.o-closed{stroke:var(--cl);fill:var(--cl-bg)}
svg.o-waits .hop-box,rect.sw.o-waits{stroke:var(--wt);fill:var(--wt-bg)}
svg.o-direct .hop-box,rect.sw.o-direct{stroke:var(--dr);fill:var(--dr-bg)}
rect.sw{stroke-width:1.5}
.hop-details{margin-top:8px;font-size:12.5px}.hop-details summary{cursor:pointer;color:var(--muted)}
.hop-details dl{margin:6px 0 0}.hop-details dt{font-family:var(--mono);font-size:12px;margin-top:4px}.hop-details dd{margin:0 0 0 14px;color:#424a53}
.kind{font:600 10px system-ui,"DejaVu Sans",sans-serif;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin-right:4px}
ul.notes{margin:8px 0 0;padding-left:18px;font-size:12.5px;color:#424a53}
.evidence,.client-saw{margin-bottom:12px}.evidence p{margin:0;font-size:13px}
.evidence .count{background:#eaeef2;color:#424a53;border-radius:999px;padding:0 6px;margin-left:4px;letter-spacing:0}
ul.legs,ul.stats{list-style:none;margin:0;padding:0}
ul.legs li{display:flex;flex-wrap:wrap;gap:4px 8px;align-items:baseline;padding:5px 8px;border:1px solid #eaeef2;border-radius:7px;margin-bottom:5px;background:#fff}
ul.legs li.redirected{border-color:#f2cc60;background:#fffbea}
ul.legs code{font-size:12px;word-break:break-all;flex:1 1 420px}
.role{font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
.tag{font-size:11px;padding:0 6px;border-radius:5px;font-weight:600;white-space:nowrap}
.t-redirect{background:#fff8c5;color:#7d4e00;border:1px solid #eed888}.t-direct{background:var(--dr-bg);color:#0550ae;border:1px solid #b6e3ff}
ul.stats li{display:flex;justify-content:space-between;gap:10px;padding:3px 8px;border-bottom:1px dashed #eaeef2}
ul.stats code{word-break:break-all}
.delta{font-family:var(--mono);font-size:12px;font-weight:700;color:var(--ok)}
dl.facts{display:flex;flex-wrap:wrap;gap:4px 14px;margin:0 0 6px;font-size:12.5px}
dl.facts div{display:flex;gap:4px}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;font-family:var(--mono);font-size:12px;word-break:break-word}
pre.received{margin:0;background:var(--soft);border:1px solid #eaeef2;border-radius:7px;padding:6px 8px;white-space:pre-wrap;word-break:break-all;max-height:140px;overflow:auto}
.legend{padding:4px 18px 14px;margin-top:28px}
.legend h2{margin:12px 0 8px}
.legend-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:12px}
.lg{display:flex;align-items:center;gap:8px;font-size:13px;margin:4px 0}
footer{margin-top:18px;color:var(--muted);font-size:12px;text-align:center}
@media print{html{background:#fff}.tools{display:none}details.scenario>.sbody{display:block}}
`;

const SCRIPT = `
(function(){
  var all=function(){return document.querySelectorAll('details.scenario')};
  var t=document.getElementById('tools'); if(t) t.hidden=false;
  document.getElementById('expand-all').addEventListener('click',function(){all().forEach(function(d){d.open=true})});
  document.getElementById('collapse-all').addEventListener('click',function(){all().forEach(function(d){d.open=false})});
  function openHash(){var id=decodeURIComponent(location.hash.slice(1)); if(!id) return; var el=document.getElementById(id);
    while(el){ if(el.tagName==='DETAILS') el.open=true; el=el.parentElement; } }
  window.addEventListener('hashchange',openHash); openHash();
})();
`;

/** The whole report page for a suite run. */
export function renderHtmlReport(r: SuiteResult): string {
  const t = totals(r);
  const ordered = orderRuns(r.runs);
  const multiAttempt = r.runs.some((x) => x.attempt > 1);
  const failing = t.failed + t.errors + t.interrupted > 0 || !!r.interrupted;
  const verdict = failing ? 'FAIL' : 'PASS';
  const title = `egress-lab run ${formatTime(r.startedAt)}: ${verdict} (${t.passed} passed, ${t.failed} failed, ${t.errors} errors, ${t.skipped} skipped)`;
  const tile = (cls: string, n: number, label: string, sub = '') =>
    `<div class="tile t-${cls}${n === 0 ? ' zero' : ''}"><div class="n" data-total="${cls}">${n}</div><div class="l">${label}</div>${sub ? `<div class="sub">${sub}</div>` : ''}</div>`;
  const tiles = [
    tile('passed', t.passed, 'passed'),
    tile('failed', t.failed, 'failed'),
    tile('errors', t.errors, 'errors'),
    tile('skipped', t.skipped, 'skipped'),
    ...(t.interrupted ? [tile('interrupted', t.interrupted, 'interrupted')] : []),
    `<div class="tile t-probes"><div class="n" data-total="probes">${t.probesPassed}/${t.probes}</div><div class="l">probes passed</div></div>`,
    `<div class="tile t-checks"><div class="n" data-total="checks">${t.checks - t.failedChecks}/${t.checks}</div><div class="l">checks hold</div>` +
      `<div class="sub">${t.failedChecks} failed${t.reasoned ? ` · ${t.reasoned} reasoned` : ''}</div></div>`,
  ].join('');
  const runMeta = [
    `<span>started ${escapeText(formatTime(r.startedAt))}</span>`,
    `<span>finished ${escapeText(formatTime(r.finishedAt))}</span>`,
    `<span>${formatDuration(r.durationMs)}</span>`,
    `<span>backend <strong>${escapeText(r.backend)}</strong></span>`,
    `<span>${t.runs} scenario run${t.runs === 1 ? '' : 's'}</span>`,
  ].join('');
  const selection = r.selection.length
    ? `<div class="selection"><span class="muted">selection</span> ${r.selection.map((s) => `<code class="chip">${escapeText(s)}</code>`).join(' ')}</div>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header class="top card${failing ? ' fail' : ''}">
<div>
<h1><span class="verdict ${failing ? 'fail' : 'pass'}">${verdict}</span>egress-lab run report</h1>
<div class="runmeta">${runMeta}</div>
${selection}
${r.interrupted ? `<div class="interrupted"><strong>interrupted:</strong> ${escapeText(r.interrupted)}</div>` : ''}
</div>
<div class="tools" id="tools" hidden><button type="button" id="expand-all">expand all</button><button type="button" id="collapse-all">collapse all</button></div>
</header>
<div class="totals">${tiles}</div>
<h2>Scenarios</h2>
${t.runs ? renderSummaryTable(ordered, multiAttempt) : '<p class="muted">no scenario ran</p>'}
<h2>Details</h2>
${ordered.map((run) => renderScenario(run, multiAttempt)).join('\n')}
${renderLegend()}
<footer>generated by egress-lab · ${escapeText(formatTime(r.finishedAt))}</footer>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
