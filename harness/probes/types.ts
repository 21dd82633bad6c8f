// Wire types shared by the probe agent (inside a pod netns) and the harness (root side).

export interface TcpProbeSpec { kind: 'tcp'; host: string; port: number; send: string; readTimeoutMs: number; connectTimeoutMs: number }
export interface RedisProbeSpec { kind: 'redis'; host: string; port: number; command: string[]; password?: string; timeoutMs: number }
export type ProbeSpec = TcpProbeSpec | RedisProbeSpec;
export type ConnectOutcome = 'ok' | 'refused' | 'timeout' | 'unreachable' | 'error';
export type EndKind = 'eof' | 'reset' | 'idle' | 'not-connected';
export interface ProbeResult {
  kind: 'tcp' | 'redis';
  target: string;            // "host:port" as given
  address?: string;          // resolved IP actually dialled
  localAddress?: string; localPort?: number;  // the client's ephemeral port: the harness finds its conntrack leg by it
  connect: ConnectOutcome;
  received: string;          // bytes received, decoded latin1 (raw TCP), or '' for redis
  receivedBytes: number;
  end: EndKind;              // eof = peer closed (FIN), reset = ECONNRESET, idle = nothing more within readTimeoutMs and still open
  errorClass: string;        // 'none' | 'refused' | 'reset' | 'eof' | 'timeout' | 'unreachable' | 'protocol' | 'reply-error' | 'closed' | 'error'
  error?: string;            // the client's error message (e.g. ioredis' "NOAUTH Authentication required.")
  reply?: string;            // redis: the reply rendered as text
  durationMs: number;
}
export type AgentRequest = { id: number; probe: ProbeSpec };
export type AgentResponse = { id: number; result: ProbeResult } | { id: number; error: string };
