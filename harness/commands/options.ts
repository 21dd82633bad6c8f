/**
 * Option parsers and options more than one command shares. Values are checked as they are parsed,
 * so a bad one is a usage error (exit 2) naming it. Light on purpose: every command loads it.
 */
import { InvalidArgumentError, Option } from 'commander';
import { join, resolve } from 'node:path';
import { callerPath } from '../core/cliArgs.ts';
import { parseAge } from '../run/retention.ts';

const REPO = resolve(import.meta.dirname, '../..');

export function positiveInt(v: string): number {
  if (!/^[1-9][0-9]*$/.test(v)) throw new InvalidArgumentError('expected a whole number of at least 1');
  return Number(v);
}

export function duration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v);
  if (!m) throw new InvalidArgumentError('expected a duration like 30m, 90s, 500ms or 1h');
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

export function runPrefix(v: string): string {
  if (!/^egl-[0-9a-f]{6}$/.test(v)) throw new InvalidArgumentError('expected a run prefix like egl-1a2b3c, as the run printed it');
  return v;
}

export function age(v: string): number {
  try {
    return parseAge(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** For an option given more than once: every value, in order. */
export function repeatable(v: string, acc: string[] | undefined): string[] {
  return [...(acc ?? []), v];
}

export const runDirOption = () =>
  new Option('--run-dir <dir>', 'where run directories go')
    .argParser(callerPath)
    .default(process.env.EGRESS_LAB_RUN_DIR ? callerPath(process.env.EGRESS_LAB_RUN_DIR) : join(REPO, 'runs'));
