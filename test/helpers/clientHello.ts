/** Real ClientHellos for the ClientHello parser tests: a plain TCP server on 127.0.0.1 keeps the client's first record. */
import net from 'node:net';

/** Resolves with the first TLS record a client sends to the returned port (no TLS server involved). */
export async function captureFirstRecord(client: (port: number) => () => void): Promise<Buffer> {
  let stop: () => void = () => {};
  const bytes = await new Promise<Buffer>((resolve, reject) => {
    const server = net.createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        // The record header's own length, so that capture does not depend on the parser under test.
        if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
          sock.destroy();
          server.close();
          resolve(buf);
        }
      });
      sock.on('error', () => {});
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      stop = client((server.address() as net.AddressInfo).port);
    });
    setTimeout(() => reject(new Error('no ClientHello within 10 s')), 10_000).unref();
  });
  stop();
  return bytes;
}
