/**
 * A lab CA and server certificates, made with the openssl CLI so that what the lab serves is what
 * `openssl x509 -text` shows. Keys are EC P-256: generating them is instant (RSA 2048 costs up to
 * a second per key) and every client the lab runs (curl, Node, Envoy) accepts them.
 *
 * Each call writes its own openssl config file, so nothing depends on /etc/ssl/openssl.cnf and
 * openssl never prompts.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { run } from '../proc/exec.ts';

export interface LabCa {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

export interface ServerCert {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

const VALID_DAYS = '7';
const CA_SUBJECT = '/O=egress-lab/CN=egress-lab CA';
// Host names and IP addresses only: anything else could break the -subj syntax or the SAN list.
const NAME = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

const CA_CONFIG = `[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
[v3_ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

/** SAN entries: an IP literal goes in an IP: entry (clients match addresses only against IP SANs). */
function sanOf(names: string[]): string {
  return names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(', ');
}

function leafExtensions(san: string, extendedKeyUsage: string): string {
  return `[v3_leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = ${extendedKeyUsage}
subjectAltName = ${san}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;
}

/** A file-name-safe form of a host name (`*.example.com` → `_wildcard.example.com`). */
function fileBase(name: string): string {
  return name.replace(/^\*/, '_wildcard').replace(/[^A-Za-z0-9.-]/g, '_');
}

/** A random positive 127-bit serial, so that re-issuing never repeats one (no .srl file to keep). */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return `0x${b.toString('hex')}`;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-noenc'];

export async function createLabCa(dir: string): Promise<LabCa> {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'ca.cnf');
  const certFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'ca.key');
  writeFileSync(config, CA_CONFIG);
  await run('openssl', [
    'req',
    '-x509',
    '-config',
    config,
    ...EC_KEY,
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    VALID_DAYS,
    '-subj',
    CA_SUBJECT,
    '-set_serial',
    randomSerial(),
  ]);
  return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
}

export async function issueServerCert(ca: LabCa, dir: string, names: string[]): Promise<ServerCert> {
  const [cn] = names;
  if (cn === undefined) throw new Error('issueServerCert: at least one name is needed');
  const bad = names.find((n) => !isIP(n) && !NAME.test(n));
  if (bad !== undefined) throw new Error(`issueServerCert: not a host name or IP address: ${JSON.stringify(bad)}`);
  return issueLeaf(ca, join(dir, fileBase(cn)), `/CN=${cn}`, leafExtensions(sanOf(names), 'serverAuth'));
}

const SPIFFE_ID = /^spiffe:\/\/[a-z0-9.-]+(\/[A-Za-z0-9._-]+)+$/;

/**
 * An Istio workload certificate: the SPIFFE identity as its only (URI) SAN, good for both ends of
 * mTLS, as Istio's CA issues them (security/pkg/pki/util/generate_cert.go).
 */
export async function issueWorkloadCert(ca: LabCa, dir: string, spiffeId: string): Promise<ServerCert> {
  if (!SPIFFE_ID.test(spiffeId)) throw new Error(`issueWorkloadCert: not a SPIFFE ID: ${JSON.stringify(spiffeId)}`);
  mkdirSync(dir, { recursive: true });
  return issueLeaf(ca, join(dir, 'workload'), '/O=egress-lab', leafExtensions(`URI:${spiffeId}`, 'serverAuth, clientAuth'));
}

async function issueLeaf(ca: LabCa, base: string, subject: string, extensions: string): Promise<ServerCert> {
  const [config, csr, certFile, keyFile] = ['.cnf', '.csr', '.crt', '.key'].map((ext) => base + ext) as [string, string, string, string];
  mkdirSync(join(base, '..'), { recursive: true });
  writeFileSync(config, `[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n${extensions}`);
  await run('openssl', ['req', '-new', '-config', config, ...EC_KEY, '-keyout', keyFile, '-out', csr, '-subj', subject]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-set_serial',
    randomSerial(),
    '-days',
    VALID_DAYS,
    '-extfile',
    config,
    '-extensions',
    'v3_leaf',
    '-out',
    certFile,
  ]);
  return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
}
