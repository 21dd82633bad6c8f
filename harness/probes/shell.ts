/**
 * Pieces of the shell scripts the kind backend runs in its client pod (nicolaka/netshoot: curl,
 * nc, socat). Each script prints the client's output, then a trailer line `EGL <exit> <local-port>
 * <bytes>` so that the result is read without guessing.
 */

/** Single-quotes a value for sh. */
export const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Prints $out and the trailer for exit code $rc. */
export const TRAILER = `printf '%s' "$out"; printf '\\nEGL %d 0 %d\\n' $rc $(printf '%s' "$out" | wc -c)`;

export const TRAILER_LINE = /\nEGL (\d+) (\d+) (\d+)\n?$/;

/** `od -An -v -tx1` output back to the bytes, so \r, \n and spaces survive the shell round trip. */
export function decodeHex(text: string): string {
  return Buffer.from(text.split(/\s+/).filter((t) => /^[0-9a-f]{2}$/.test(t)).map((t) => parseInt(t, 16))).toString('latin1');
}

/** The MySQL greeting's version string: after the protocol byte 0x0a, up to the NUL (shown as "."). */
export function greetingVersion(printable: string): string | undefined {
  // Non-printable bytes come back as "."; the version itself may contain dots, so stop at two of them.
  const m = /(\d+\.\d+\.\d+[-+\w.]*?)(?:\.\.|\.$|$)/.exec(printable);
  return m?.[1];
}

/** RESP encoding of a command, what redis-cli would send. */
export function resp(command: string[]): string {
  return `*${command.length}\r\n${command.map((c) => `$${Buffer.byteLength(c)}\r\n${c}\r\n`).join('')}`;
}
