/**
 * The 400 Envoy writes when non-HTTP bytes reach its HTTP/1 codec: Envoy's balsa parser and
 * conn_manager_impl.cc (modern, checked against real Envoy by test/lab/httpInspectorEnvoy.test.ts) and seed
 * 000 (legacy, Envoy's raw-codec reply).
 */
import type { IstioEra } from '../scenario/istioVersion.ts';

export const LEGACY_400 = 'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n';

export function badRequest(era: IstioEra, now: Date): string {
  if (era === 'legacy') return LEGACY_400;
  return (
    'HTTP/1.1 400 Bad Request\r\ncontent-length: 11\r\ncontent-type: text/plain\r\n' +
    `date: ${now.toUTCString()}\r\nserver: envoy\r\nconnection: close\r\n\r\nBad Request`
  );
}
