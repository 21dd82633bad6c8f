/** A probe's kind block, for tests that know which kind it is (throws otherwise). */
import type { Probe } from '../../harness/scenario/schema.ts';
import type { ProbeBlock, ProbeTypeName } from '../../harness/probes/registry.ts';

export function blockOf<K extends ProbeTypeName>(p: Probe, kind: K): ProbeBlock<K> {
  if (p.kind !== kind) throw new Error(`probe ${p.name} is a ${p.kind} probe, not ${kind}`);
  return (p as unknown as Record<K, ProbeBlock<K>>)[kind];
}
