/** Running the lab's commands (ip, iptables-restore, conntrack...) with errors that show what failed. */
import { execFile } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly code: number | string | undefined,
  ) {
    super(`command failed (${code}): ${command}\n${stderr.trim()}`);
    this.name = 'CommandError';
  }
}

export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 20_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new CommandError([cmd, ...args].join(' '), String(stderr || err.message), (err as NodeJS.ErrnoException).code));
      else resolve(String(stdout));
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs a command inside a network namespace. */
export function inNetns(ns: string, cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

export interface CommandRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs argv to its end and returns its exit code and output, whatever the exit code. */
export function runToEnd(argv: string[], timeoutMs = 60_000): Promise<CommandRun> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = (err as (NodeJS.ErrnoException & { code?: number | string }) | null)?.code;
      resolve({ exitCode: err ? (typeof code === 'number' ? code : -1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
