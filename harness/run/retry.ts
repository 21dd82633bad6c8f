/**
 * The retry rule of the kind backend (after cilium-cli's connectivity checks and Istio's
 * integration tests, pkg/test/framework): retry only
 * probes expected to succeed, never expected failures. Cilium adds curl --retry only when the action
 * is expected to succeed ("Never retry an action that is expected to be dropped"); Istio's echo calls
 * retry until the check passes. Retrying an expected denial would hide exactly the incidents this
 * project reproduces: a sidecar that starts blackholing a moment late would pass on attempt two.
 *
 * Istio's framework converges on 3 consecutive successes. That is not done here: every probe run
 * moves the sidecar's counters and adds conntrack legs, and the runner judges the stats delta and the
 * legs around one probe call, so running a passing probe three times would turn "+1" into "+3".
 * Convergence is the config gate's job (configGate.ts); this retry only absorbs what is left of
 * propagation lag (an EDS endpoint or a route arriving after the listener). A caller that re-snapshots
 * stats between attempts can do so in `onRetry`.
 */
import type { ClientExpect, Probe } from '../scenario/schema.ts';
import { typeExpectsFailure } from '../probes/registry.ts';

/**
 * Error classes that still mean the intended server answered: `none`, and `reply-error` (a Redis
 * error reply such as `-NOAUTH Authentication required.` proves Redis itself was reached; seed 000
 * took it as the healthy case).
 */
const SUCCESS_CLASSES = new Set(['none', 'reply-error']);

/**
 * True when the probe's client expectation describes a success, precisely:
 *
 * - there is a client expectation and it says `connect: ok` (a probe that expects refused, timeout
 *   or unreachable, or says nothing about connecting, is not a success);
 * - `errorClass`, if given, lists only `none` / `reply-error` (any of `timeout`, `reset`, `closed`,
 *   `eof`, `protocol`, `curl-N`... in the list makes it an expected failure);
 * - `end`, if given, is only `idle`: the connection stayed open (`eof` and `reset` mean the peer
 *   closed it, which is how blackholed TCP looks, so a closed connection is never retried);
 * - the probe type's own fields do not describe a failure (each module's `expectsFailure`: curl's
 *   exit code and the HTTP status for http, zero bytes or an HTTP 4xx/5xx status line for tcp).
 *
 * Fields that describe content (receivedContains, replyContains, headers, body, serverVersion,
 * durationMs) do not change the verdict: they refine a success or a failure, whichever it is.
 */
export function expectsSuccess(probe: Probe): boolean {
  const c: ClientExpect | undefined = probe.expect.client;
  if (!c || c.connect !== 'ok') return false;
  if (c.errorClass !== undefined) {
    const classes = Array.isArray(c.errorClass) ? c.errorClass : [c.errorClass];
    if (!classes.every((k) => SUCCESS_CLASSES.has(k))) return false;
  }
  if (c.end !== undefined) {
    const ends = Array.isArray(c.end) ? c.end : [c.end];
    if (!ends.every((e) => e === 'idle')) return false;
  }
  return !typeExpectsFailure(probe.kind, c);
}

export interface RetryOptions {
  /** Most runs in total (1 = no retry); values below 1 count as 1. */
  attempts: number;
  /** Pause between a failed run and the next. */
  delayMs: number;
  sleep: (ms: number) => Promise<void>;
  /** Called after a run the judge rejected, before the pause, when another attempt follows. */
  onRetry?: (failed: unknown, attempt: number) => void | Promise<void>;
}

/**
 * Runs `run`, and again while `judge` rejects the result, at most `attempts` times, but only when
 * the probe is expected to succeed: an expected failure runs exactly once whatever the judge says.
 * Returns the last result and how many runs it took. An exception from `run` is not a probe outcome
 * (kubectl missing, the pod gone) and propagates at once.
 */
export async function runWithRetry<T>(
  run: () => Promise<T>,
  judge: (t: T) => boolean,
  probe: Probe,
  opts: RetryOptions,
): Promise<{ result: T; attempts: number }> {
  const max = expectsSuccess(probe) ? Math.max(1, Math.floor(opts.attempts)) : 1;
  let attempt = 1;
  for (;;) {
    const result = await run();
    if (attempt >= max || judge(result)) return { result, attempts: attempt };
    await opts.onRetry?.(result, attempt);
    await opts.sleep(opts.delayMs);
    attempt++;
  }
}
