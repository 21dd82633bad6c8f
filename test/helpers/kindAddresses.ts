/** Addresses kind assigned instead of the scenario's, as the kind backend reports them. */
import type { AddressMapping } from '../../harness/scenario/addressMapping.ts';

export const KIND_ADDRESSES: AddressMapping[] = [
  { what: 'external server', name: 'redis-cluster', scenario: '10.0.0.6', real: '172.18.0.5' },
  { what: 'pod', name: 'dev-self/sleep', scenario: '10.64.192.14', real: '10.244.0.7' },
];
