/** Talks to a sidecar's admin API through the Unix socket it keeps in the run directory. */
import { request } from 'node:http';

export function adminRequest(socketPath: string, method: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', (err) => reject(new Error(`sidecar admin ${socketPath}: ${err.message}`)));
    req.end();
  });
}
