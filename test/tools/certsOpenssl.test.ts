// The lab's CA and server certificates, as openssl reads them.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLabCa, issueServerCert, type LabCa } from '../../harness/servers/certs.ts';
import { exec } from '../helpers/serverProcesses.ts';

const tmp = mkdtempSync(join(tmpdir(), 'egl-servers-'));

let ca: LabCa;

test.before(async () => {
  ca = await createLabCa(join(tmp, 'ca'));
  await issueServerCert(ca, join(tmp, 'certs'), ['www.baidu.com', '127.0.0.1']);
  await issueServerCert(ca, join(tmp, 'certs'), ['www.163.com']);
});

test.after.always(() => {
  rmSync(tmp, { recursive: true, force: true });
});

test('the CA is a CA and the leaf names its hosts and IPs in subjectAltName', async (t) => {
  const caExt = await exec('openssl', ['x509', '-in', ca.certFile, '-noout', '-subject', '-ext', 'basicConstraints,keyUsage']);
  t.regex(caExt.stdout, /CN = egress-lab CA/);
  t.regex(caExt.stdout, /CA:TRUE/);
  t.regex(caExt.stdout, /Certificate Sign/);
  const leaf = await exec('openssl', [
    'x509',
    '-in',
    join(tmp, 'certs', 'www.baidu.com.crt'),
    '-noout',
    '-subject',
    '-ext',
    'subjectAltName,extendedKeyUsage',
  ]);
  t.regex(leaf.stdout, /subject=CN = www\.baidu\.com/);
  t.regex(leaf.stdout, /DNS:www\.baidu\.com, IP Address:127\.0\.0\.1/);
  t.regex(leaf.stdout, /TLS Web Server Authentication/);
  const verify = await exec('openssl', ['verify', '-CAfile', ca.certFile, '-purpose', 'sslserver', join(tmp, 'certs', 'www.163.com.crt')]);
  t.is(verify.code, 0, verify.stderr);
});
