// Long-lived probe agent, one per pod, started inside the pod's netns as a non-1337 uid so that
// iptables sends its traffic through the sidecar:
//   ip netns exec <ns> setpriv --reuid=1000 --regid=1000 --clear-groups node --import tsx harness/probes/agent.ts
// Protocol: one JSON AgentRequest per stdin line -> one JSON AgentResponse per stdout line, in order.
// stdout carries nothing else; diagnostics go to stderr.
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { ProbeResult } from './result.ts';
import type { AgentRequest, AgentResponse } from './wire.ts';
import type { ProbeSpec } from './registry.ts';
import { runProbeSpec, wireSchemas } from './registry.ts';

// Each kind's module says what a valid wire spec is.
const probeSchema = z.discriminatedUnion('kind', wireSchemas() as unknown as [z.ZodObject, ...z.ZodObject[]]);
const requestSchema = z.object({ id: z.number(), probe: probeSchema });

export function runProbe(spec: ProbeSpec): Promise<ProbeResult> {
  return runProbeSpec(spec);
}

/** Never throws: anything wrong with the line or the probe becomes {id, error}. */
export async function handleLine(line: string): Promise<AgentResponse> {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (err) {
    return { id: -1, error: `bad JSON: ${(err as Error).message}` };
  }
  const parsed = requestSchema.safeParse(raw);
  if (!parsed.success) return { id: idOf(raw), error: `bad request: ${z.prettifyError(parsed.error)}` };
  const request = parsed.data as unknown as AgentRequest;
  try {
    return { id: request.id, result: await runProbe(request.probe) };
  } catch (err) {
    return { id: request.id, error: `probe failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Echo the caller's id even when the rest of the request is invalid, so it can match the reply. */
function idOf(raw: unknown): number {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === 'number' ? id : -1;
}

function send(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function main(): void {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  // One probe at a time, in arrival order: the harness correlates each probe with conntrack/access logs.
  let queue = Promise.resolve();
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    queue = queue.then(async () => send(await handleLine(line)));
  });
  // Exit explicitly once drained: ioredis' graceful-disconnect timers must not keep a dead agent around.
  lines.on('close', () => {
    void queue.then(() => process.stdout.write('', () => process.exit(0)));
  });
  send({ ready: true });
}

// Only when run as a script, so tests can import handleLine without taking over stdin.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
