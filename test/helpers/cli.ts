/** The command line as a user starts it (bin/egress-lab.js), for the tests that run it as a subprocess. */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '../..');

/**
 * `cli(args, initCwd?)`: runs the CLI from the repository and gives its exit code and its output
 * (stdout, then stderr). `initCwd` is where `npm run` was started: relative paths are taken from
 * there. Each call is given at most `timeoutMs`.
 */
export function cliRunner(timeoutMs: number): (args: string[], initCwd?: string) => { code: number | null; out: string } {
  return (args, initCwd) => {
    const r = spawnSync(process.execPath, [join(REPO, 'bin/egress-lab.js'), ...args], {
      cwd: REPO,
      ...(initCwd === undefined ? {} : { env: { ...process.env, INIT_CWD: initCwd } }),
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };
}
