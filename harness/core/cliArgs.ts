/** What every command of the command line shares: exit codes and where relative paths start. */
import { resolve } from 'node:path';

/** Exit codes, whatever path a signal or error took (README "Exit codes"). */
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/**
 * Where a relative path given on the command line is relative to: the directory the user ran the
 * command from. `npm run` starts scripts in the package root and says where it was started in
 * INIT_CWD.
 */
export function callerDir(): string {
  return process.env.INIT_CWD ?? process.cwd();
}

/** A path given on the command line, relative to where the command was started. */
export function callerPath(v: string): string {
  return resolve(callerDir(), v);
}

/** A usage error: the message, prefixed with the command, and exit 2. */
export function usageError(command: string, message: string): never {
  console.error(`egress-lab ${command}: ${message}`);
  process.exit(EXIT_USAGE);
}
