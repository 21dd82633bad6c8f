/** Loads the N-API addon (native/original_dst.c) that reads SO_ORIGINAL_DST from a socket. */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Socket } from 'node:net';

const require = createRequire(import.meta.url);
const addon = require(resolve(import.meta.dirname, '../../build/Release/original_dst.node')) as {
  getOriginalDst(fd: number): { address: string; port: number };
};

/** The destination the client dialled before iptables REDIRECTed it to 15001. */
export function originalDst(socket: Socket): { address: string; port: number } {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no file descriptor');
  return addon.getOriginalDst(fd);
}
