/** Running and stopping the lab servers' real processes on 127.0.0.1, and calling curl and other tools on them. */
import { execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { createInterface } from 'node:readline';

export interface CurlResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** curl never rejects here: its exit code is the observation (60 = certificate verification failed). */
export function curl(args: string[]): Promise<CurlResult> {
  const start = Date.now();
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], (err, stdout, stderr) => {
      const code = err ? Number((err as NodeJS.ErrnoException).code ?? -1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - start });
    });
  });
}

export function exec(cmd: string, args: string[]): Promise<CurlResult> {
  const start = Date.now();
  return new Promise((resolve) => {
    execFile(cmd, args, (err, stdout, stderr) => {
      const code = err ? Number((err as NodeJS.ErrnoException).code ?? -1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - start });
    });
  });
}

export async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Resolves when a line of `stream` matches; rejects if the process exits first. */
export function waitForLine(child: ChildProcess, stream: NodeJS.ReadableStream, re: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const seen: string[] = [];
    const timer = setTimeout(() => reject(new Error(`no ${re} after ${timeoutMs} ms:\n${seen.join('\n')}`)), timeoutMs);
    const onExit = (code: number | null) => reject(new Error(`exited (${code}) before ${re}:\n${seen.join('\n')}`));
    child.once('exit', onExit);
    const lines = createInterface({ input: stream });
    lines.on('line', (line) => {
      seen.push(line);
      if (!re.test(line)) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve();
    });
  });
}

export async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}
