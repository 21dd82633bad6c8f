// The kind backend's machine checks (doctor) with the real probes on this machine.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { doctor, renderDoctor } from '../../harness/kind/doctor.ts';

const doctorCache = mkdtempSync(join(tmpdir(), 'egress-lab-doctor-cache-'));

test.after.always(() => {
  rmSync(doctorCache, { recursive: true, force: true });
});

test('doctor with the real probes agrees with docker info on this machine (here: no engine)', async (t) => {
  let engineUp = true;
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe' });
  } catch {
    engineUp = false;
  }
  const report = await doctor({ cacheDir: doctorCache });
  const engine = report.checks.find((c) => c.name === 'Docker engine')!;
  t.is(engine.ok, engineUp, engine.detail);
  if (!engineUp) {
    t.regex(engine.fix ?? '', /Docker/);
    t.regex(renderDoctor(report), /not ready: \d+ problems?\n$/);
  }
  t.is(report.checks.length, 7);
});
