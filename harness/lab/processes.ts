/**
 * Long-running lab processes (sidecars, probe agents, servers) started inside a namespace, with their
 * output kept in the run directory, a readiness wait that reports what the process printed if it
 * died, and a stop that always ends them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** `node --import tsx` resolves tsx from the working directory: always start from the repository. */
const REPO = resolve(import.meta.dirname, '../..');

export interface LabProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
}

export interface StartOptions {
  name: string;
  ns: string;
  /** Run as this uid/gid (setpriv), e.g. 1337 for the sidecar. */
  uid?: number;
  argv: string[];
  logFile: string;
  /** Resolves once a stdout line matches; the process's other stdout goes to logFile. */
  readyLine: RegExp;
  readyTimeoutMs?: number;
  /** Keep stdin open as a pipe and stdout unpiped (the probe agent's request channel). */
  stdin?: boolean;
  /** Where stdout goes after the ready line (default: logFile). */
  stdoutFile?: string;
  /** Also look for the ready line on stderr (mariadbd logs there). */
  readyOnStderr?: boolean;
}

function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-15).join('\n') : '';
}

export function startInNetns(opts: StartOptions): Promise<LabProcess> {
  const asUser = opts.uid !== undefined ? ['setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', '--'] : [];
  const child = spawn('ip', ['netns', 'exec', opts.ns, ...asUser, ...opts.argv], {
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    cwd: REPO,
  });
  const log = createWriteStream(opts.logFile);
  child.stderr!.pipe(log);
  const proc: LabProcess = { name: opts.name, child, logFile: opts.logFile };
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => fail(`not ready after ${opts.readyTimeoutMs ?? 15000} ms`), opts.readyTimeoutMs ?? 15000);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      // Give the log stream a moment to flush what the process printed before it died.
      setTimeout(() => reject(new Error(`${opts.name} ${why}; its output:\n${buffered}${tail(opts.logFile)}`)), 300);
    };
    const onData = (b: Buffer) => {
      buffered += b.toString();
      const line = buffered.split('\n').find((l) => opts.readyLine.test(l));
      if (line === undefined) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      const rest = buffered.slice(buffered.indexOf(line) + line.length + 1);
      if (!opts.stdin) {
        const out = opts.stdoutFile ? createWriteStream(opts.stdoutFile) : log;
        if (!opts.readyOnStderr) out.write(rest); // stderr already goes to the log
        child.stdout!.pipe(out);
      }
      resolve(proc);
    };
    child.stdout!.on('data', onData);
    if (opts.readyOnStderr) child.stderr!.on('data', onData);
    const onExit = (code: number | null, sig: string | null) => fail(`exited (${code ?? sig}) before it was ready`);
    child.once('exit', onExit);
    child.once('error', (err) => fail(`could not start: ${err.message}`));
  });
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
