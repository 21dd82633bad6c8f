/** IPv4 arithmetic the model and the lab share: CIDR membership and prefix lengths. */

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export function parseCidr(cidr: string): { ip: string; prefix: number } {
  const [ip, len] = cidr.includes('/') ? cidr.split('/') : [cidr, '32'];
  return { ip: ip ?? '', prefix: Number(len) };
}

export function cidrContains(cidr: string, ip: string): boolean {
  const { ip: base, prefix } = parseCidr(cidr);
  if (prefix === 0) return true;
  const mask = (~0 << (32 - prefix)) >>> 0;
  return (ipToInt(base) & mask) >>> 0 === (ipToInt(ip) & mask) >>> 0;
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.');
}
