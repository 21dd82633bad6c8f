/** scripts/render-manifests.ts as a user runs it. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderManifests } from '../../scripts/render-manifests.ts';

const ROOT = resolve(import.meta.dirname, '../..');

test('scripts/render-manifests.ts writes the file it is given, and exits 2 on an unknown scenario', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egl-render-'));
  try {
    const out = join(dir, 'm.yaml');
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
    execFileSync(tsx, ['scripts/render-manifests.ts', 'virtualservice-timeout', out], { cwd: ROOT, stdio: 'pipe' });
    const text = readFileSync(out, 'utf8');
    t.is(text, renderManifests('virtualservice-timeout'));
    t.regex(text, /timeout: 3s/);
    const err = t.throws<Error & { status: number; stderr: Buffer }>(() =>
      execFileSync(tsx, ['scripts/render-manifests.ts', 'no-such-scenario'], { cwd: ROOT, stdio: 'pipe' }),
    );
    t.is(err.status, 2);
    t.regex(err.stderr.toString(), /no scenario "no-such-scenario"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
