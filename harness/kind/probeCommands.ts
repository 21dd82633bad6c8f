/**
 * Probes on kind: the same probe specs as the netns lab, run with `kubectl exec` in the client pod's
 * app container (nicolaka/netshoot: curl, nc, socat; no redis-cli or mysql client), and their
 * output read back into the common ProbeResult. Pure: commands and parsers only.
 *
 * Each command prints a trailer line `EGL <exit> <local-port> <bytes>` after the client's own
 * output so the result can be read without guessing.
 */
import type { ProbeResult, ProbeSpec } from '../probes/types.ts';
import { KUBE_CONTEXT, type Command } from './plan.ts';

const TRAILER = /\nEGL (\d+) (\d+) (\d+)\n?$/;

function sh(script: string): string[] {
  return ['sh', '-c', script];
}

/** Single-quotes a value for sh. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** RESP encoding of a command, what redis-cli would send. */
export function resp(command: string[]): string {
  return `*${command.length}\r\n${command.map((c) => `$${Buffer.byteLength(c)}\r\n${c}\r\n`).join('')}`;
}

/** The shell script that runs one probe inside the pod and prints the trailer. */
export function probeScript(spec: ProbeSpec): string {
  switch (spec.kind) {
    case 'tcp': {
      // nc keeps the connection open after sending, like the lab's raw probe; -w is the idle timeout.
      const wait = Math.ceil(spec.readTimeoutMs / 1000);
      return `out=$(printf %s ${q(spec.send)} | nc -w ${wait} ${q(spec.host)} ${spec.port} | od -An -v -tx1); rc=$?; printf '%s' "$out"; printf '\\nEGL %d 0 %d\\n' $rc $(printf '%s' "$out" | wc -c)`;
    }
    case 'redis': {
      const wait = Math.ceil(spec.timeoutMs / 1000);
      const auth = spec.password ? resp(['AUTH', spec.password]) : '';
      return `out=$(printf %s ${q(auth + resp(spec.command))} | nc -w ${wait} ${q(spec.host)} ${spec.port}); rc=$?; printf '%s' "$out"; printf '\\nEGL %d 0 %d\\n' $rc $(printf '%s' "$out" | wc -c)`;
    }
    case 'http': {
      const headers = Object.entries(spec.headers).map(([k, v]) => `-H ${q(`${k}: ${v}`)}`).join(' ');
      const wf = q('\n%{http_code} %{time_total} %{local_port}');
      return (
        `out=$(curl -sS ${spec.head ? '-I ' : '-o /dev/null -D - '}--max-time ${spec.timeoutMs / 1000} -X ${q(spec.method)} ${headers} ${spec.caFile ? `--cacert ${q(spec.caFile)} ` : ''}-w ${wf} ${q(spec.url)} 2>&1); rc=$?; ` +
        `printf '%s' "$out"; printf '\\nEGL %d 0 %d\\n' $rc $(printf '%s' "$out" | wc -c)`
      );
    }
    case 'mysql': {
      // No MySQL client in the image: read the server greeting (protocol 10 carries the version string).
      const wait = Math.ceil(spec.timeoutMs / 1000);
      return `out=$(socat -T${wait} - TCP:${spec.host}:${spec.port},connect-timeout=${wait} </dev/null | tr -c '[:print:]' '.'); rc=$?; printf '%s' "$out"; printf '\\nEGL %d 0 %d\\n' $rc $(printf '%s' "$out" | wc -c)`;
    }
  }
}

export function probeCommand(spec: ProbeSpec, pod: string, namespace: string): Command {
  return {
    program: 'kubectl',
    args: ['--context', KUBE_CONTEXT, 'exec', '-n', namespace, pod, '-c', 'app', '--', ...sh(probeScript(spec))],
    why: `${spec.kind} probe from ${namespace}/${pod}`,
  };
}

/** The MySQL greeting's version string: after the protocol byte 0x0a, up to the NUL (shown as "."). */
export function greetingVersion(printable: string): string | undefined {
  // Non-printable bytes come back as "."; the version itself may contain dots, so stop at two of them.
  const m = /(\d+\.\d+\.\d+[-+\w.]*?)(?:\.\.|\.$|$)/.exec(printable);
  return m?.[1];
}

/** Reads a probe's output back into the common result shape; `durationMs` is measured by the caller. */
export function parseProbeOutput(spec: ProbeSpec, stdout: string, durationMs: number): ProbeResult {
  const m = TRAILER.exec(stdout);
  const body = m ? stdout.slice(0, m.index) : stdout;
  const rc = m ? Number(m[1]) : -1;
  const target = spec.kind === 'http' ? spec.url : `${spec.host}:${spec.port}`;
  const base: ProbeResult = { kind: spec.kind, target, connect: 'ok', received: body, receivedBytes: Buffer.byteLength(body), end: 'eof', errorClass: 'none', durationMs };
  if (spec.kind === 'http') {
    const lines = body.split('\n');
    const last = lines.pop() ?? '';
    const [code] = last.split(' ');
    const status = Number(code);
    const headers = Object.fromEntries(
      lines.filter((l) => l.includes(':') && !l.startsWith('curl:')).map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    const curlError = lines.find((l) => l.startsWith('curl:'));
    return { ...base, received: '', exitCode: rc, ...(status > 0 ? { httpStatus: status } : {}), headers, ...(curlError ? { curlError } : {}), errorClass: rc === 0 ? 'none' : `curl-${rc}` };
  }
  if (spec.kind === 'mysql') {
    const version = greetingVersion(body);
    return { ...base, ...(version ? { serverVersion: version } : {}), errorClass: version ? 'none' : body.length === 0 ? 'closed' : 'protocol' };
  }
  if (spec.kind === 'redis') {
    const reply = body.trim();
    return { ...base, reply, errorClass: reply.startsWith('-') ? 'reply-error' : reply ? 'none' : 'closed', ...(reply.startsWith('-') ? { error: reply.slice(1) } : {}) };
  }
  // nc cannot tell an idle timeout from a close (it exits 0 either way): kind reports 'eof' when
  // nothing came back and 'idle' otherwise; the comparison with the lab flags the difference.
  const bytes = decodeHex(body);
  return { ...base, received: bytes, receivedBytes: bytes.length, end: bytes ? 'idle' : 'eof', errorClass: bytes ? 'none' : 'eof' };
}

/** `od -An -v -tx1` output back to the bytes, so \r, \n and spaces survive the shell round trip. */
export function decodeHex(text: string): string {
  return Buffer.from(text.split(/\s+/).filter((t) => /^[0-9a-f]{2}$/.test(t)).map((t) => parseInt(t, 16))).toString('latin1');
}
