/**
 * Istio's protocol selection (pkg/config/protocol/instance.go; Service ports through
 * pkg/config/kube/conversion.go ConvertProtocol, ServiceEntry ports through
 * pilot/pkg/serviceregistry/serviceentry/conversion.go convertPort): how a port's name, appProtocol or ServiceEntry
 * protocol decides whether it gets an HTTP listener, a TCP listener or a sniffed one.
 */
import type { ListenerClass, Protocol } from './types.ts';

// Maps, not object literals: a port named "constructor" must not find Object.prototype.constructor.
const PREFIXES = new Map<string, Protocol>([
  ['http', 'HTTP'],
  ['http2', 'HTTP2'],
  ['https', 'HTTPS'],
  ['tls', 'TLS'],
  ['tcp', 'TCP'],
  ['grpc', 'GRPC'],
  ['mongo', 'MONGO'],
  ['redis', 'REDIS'],
  ['mysql', 'MYSQL'],
  ['udp', 'UDP'],
  ['http_proxy', 'HTTP_PROXY'],
]);

const APP_PROTOCOL_ALIASES = new Map<string, Protocol>([
  ['kubernetes.io/h2c', 'HTTP2'],
  ['kubernetes.io/ws', 'HTTP'],
  ['kubernetes.io/wss', 'HTTPS'],
]);

/** Ports that default to TCP instead of being sniffed when unnamed. */
const SERVER_FIRST_PORTS = new Set([25, 53, 3306, 27017]);

function fromName(text: string): Protocol | undefined {
  const lower = text.toLowerCase();
  if (lower.startsWith('grpc-web')) return 'GRPC-Web';
  return PREFIXES.get(lower.split('-')[0] ?? '');
}

/** Kubernetes Service port: appProtocol wins over the name, even when unknown. */
export function kubernetesPortProtocol(p: { name: string; port: number; protocol: string; appProtocol?: string }): Protocol {
  if (p.protocol === 'UDP') return 'UDP';
  const explicit = p.appProtocol !== undefined ? (APP_PROTOCOL_ALIASES.get(p.appProtocol) ?? fromName(p.appProtocol)) : fromName(p.name);
  if (explicit) return explicit;
  return SERVER_FIRST_PORTS.has(p.port) ? 'TCP' : 'AUTO';
}

/** ServiceEntry port: only the protocol field counts; empty means sniffed. */
export function serviceEntryPortProtocol(protocol: string): Protocol {
  return protocol === '' ? 'AUTO' : (fromName(protocol) ?? 'AUTO');
}

export function listenerClass(p: Protocol): ListenerClass {
  switch (p) {
    case 'HTTP':
    case 'HTTP2':
    case 'GRPC':
    case 'GRPC-Web':
    case 'HTTP_PROXY':
      return 'http';
    case 'TCP':
    case 'TLS':
    case 'HTTPS':
    case 'MONGO':
    case 'REDIS':
    case 'MYSQL':
      return 'tcp';
    case 'AUTO':
      return 'auto';
    case 'UDP':
      return 'none';
  }
}
