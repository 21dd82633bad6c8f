/**
 * Loose JSON access for config read from files (Envoy config_dumps, Istio's own output): every
 * field is checked before use, and a missing or mistyped one reads as empty.
 */

export type Json = Record<string, unknown>;

export function obj(x: unknown): Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Json) : {};
}

export function arr(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

export function str(x: unknown): string {
  return typeof x === 'string' ? x : '';
}

export function num(x: unknown): number | undefined {
  return typeof x === 'number' ? x : typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : undefined;
}
