/**
 * Long-running lab processes (servers, sidecars, probe agents, the control plane) started inside a
 * lab namespace and inside the run's cgroup, with their output kept in the run directory, a
 * readiness wait that reports what the process printed if it died, and a stop that always ends them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, createWriteStream, existsSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RunCgroup } from './cgroup.ts';

/** `node --import tsx` resolves tsx from the working directory: start from the repository unless told. */
const REPO = resolve(import.meta.dirname, '../..');

export interface LabProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
}

export interface StartOptions {
  name: string;
  ns: string;
  /** Every lab process lives in the run's cgroup, so that nothing can outlive the run. */
  cgroup: RunCgroup;
  /** Run as this uid/gid (setpriv), e.g. 1337 for the sidecar. */
  uid?: number;
  argv: string[];
  /** Extra environment (added to the harness's own). */
  env?: Record<string, string>;
  cwd?: string;
  logFile: string;
  /**
   * When the process counts as up: a stdout line matching a pattern (the other stdout goes to
   * logFile), or a check polled until it says yes.
   */
  ready: RegExp | (() => Promise<boolean>);
  readyTimeoutMs?: number;
  /** Keep stdin open as a pipe and stdout unpiped (the probe agent's request channel). */
  stdin?: boolean;
  /** Where stdout goes after the ready line (default: logFile). */
  stdoutFile?: string;
  /** Also look for the ready line on stderr (mariadbd logs there). */
  readyOnStderr?: boolean;
  /**
   * stdout and stderr are files the process owns (uid) instead of pipes: Envoy re-opens
   * /dev/stdout for its access log, which a root-owned pipe refuses to uid 1337.
   */
  ownOutput?: { stdout: string; stderr: string };
}

function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-15).join('\n') : '';
}

/** An append-mode file owned by uid: what `/dev/stdout` is for a container's process. */
function ownedFile(path: string, uid: number | undefined): number {
  const fd = openSync(path, 'a', 0o644);
  if (uid !== undefined) chownSync(path, uid, uid);
  return fd;
}

function spawnInNetns(opts: StartOptions): ChildProcess {
  const asUser = opts.uid !== undefined ? ['setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', '--'] : [];
  const [cmd, ...args] = opts.cgroup.wrap(['ip', 'netns', 'exec', opts.ns, ...asUser, ...opts.argv]);
  const env = opts.env ? { ...process.env, ...opts.env } : process.env;
  if (opts.ownOutput) {
    const out = ownedFile(opts.ownOutput.stdout, opts.uid);
    const err = ownedFile(opts.ownOutput.stderr, opts.uid);
    const child = spawn(cmd!, args, { stdio: ['ignore', out, err], cwd: opts.cwd ?? REPO, env });
    closeSync(out);
    closeSync(err);
    return child;
  }
  return spawn(cmd!, args, { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], cwd: opts.cwd ?? REPO, env });
}

export function startInNetns(opts: StartOptions): Promise<LabProcess> {
  const child = spawnInNetns(opts);
  const log = opts.ownOutput ? undefined : createWriteStream(opts.logFile);
  if (log) child.stderr!.pipe(log);
  const proc: LabProcess = { name: opts.name, child, logFile: opts.ownOutput?.stderr ?? opts.logFile };
  const timeoutMs = opts.readyTimeoutMs ?? 15000;
  return new Promise((resolve, reject) => {
    let buffered = '';
    let settled = false;
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      // Give the log stream a moment to flush what the process printed before it died.
      setTimeout(() => reject(new Error(`${opts.name} ${why}; its output:\n${buffered}${tail(proc.logFile)}`)), 300);
    };
    const succeed = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(proc);
    };
    const onExit = (code: number | null, sig: string | null) => fail(`exited (${code ?? sig}) before it was ready`);
    child.once('exit', onExit);
    child.once('error', (err) => fail(`could not start: ${err.message}`));
    if (typeof opts.ready === 'function') {
      void pollReady(opts.ready, () => settled).then((ok) => ok && succeed());
      return;
    }
    const readyLine = opts.ready;
    const onData = (b: Buffer) => {
      buffered += b.toString();
      const line = buffered.split('\n').find((l) => readyLine.test(l));
      if (line === undefined) return;
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      const rest = buffered.slice(buffered.indexOf(line) + line.length + 1);
      if (!opts.stdin) {
        const out = opts.stdoutFile ? createWriteStream(opts.stdoutFile) : log!;
        if (!opts.readyOnStderr) out.write(rest); // stderr already goes to the log
        child.stdout!.pipe(out);
      }
      succeed();
    };
    child.stdout!.on('data', onData);
    if (opts.readyOnStderr) child.stderr!.on('data', onData);
  });
}

/** Polls a readiness check every 50 ms until it says yes or the wait is over. */
async function pollReady(check: () => Promise<boolean>, over: () => boolean): Promise<boolean> {
  while (!over()) {
    if (await check().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** SIGTERM, then SIGKILL if it is still there after a grace period. */
export async function stopProcess(p: LabProcess, graceMs = 2000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
