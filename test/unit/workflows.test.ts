/** The GitHub Actions workflows: what the nightly run may do. */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

const REPO = resolve(import.meta.dirname, '../..');

test('the nightly workflow may publish its JUnit check run (checks: write)', (t) => {
  const wf = parse(readFileSync(join(REPO, '.github/workflows/nightly.yml'), 'utf8')) as { permissions?: Record<string, string> };
  t.is(wf.permissions?.checks, 'write');
  t.is(wf.permissions?.contents, 'read');
});
