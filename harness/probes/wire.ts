/** The probe agent's protocol: one JSON line per request on stdin, one per response on stdout. */
import type { ProbeSpec } from './registry.ts';
import type { ProbeResult } from './result.ts';

export type AgentRequest = { id: number; probe: ProbeSpec };
export type AgentResponse = { id: number; result: ProbeResult } | { id: number; error: string };
