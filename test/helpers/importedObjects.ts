/**
 * What `egress-lab import` must write of a customer's object, for the import tests: the object as
 * sent, less what the API server sets (metadata such as uid and managedFields, and status) and the
 * last-applied annotation, with its namespace (kubectl's "default" when it had none).
 */

export type RawObject = {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string };
} & Record<string, unknown>;

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Set by the API server and its controllers, not by the object's author. */
const SERVER_SET = [
  'uid',
  'resourceVersion',
  'generation',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'ownerReferences',
  'selfLink',
];

export function authored(o: RawObject): RawObject {
  const { status: _status, ...rest } = structuredClone(o);
  const metadata = rest.metadata;
  for (const k of SERVER_SET) delete metadata[k];
  const annotations = metadata.annotations as Record<string, string> | undefined;
  if (annotations && LAST_APPLIED in annotations) {
    delete annotations[LAST_APPLIED];
    if (Object.keys(annotations).length === 0) delete metadata.annotations;
  }
  return { ...rest, metadata: { ...metadata, namespace: metadata.namespace ?? 'default' } };
}

/** "Kind namespace/name". */
export const objectRef = (o: RawObject): string => `${o.kind} ${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;

/** The notes the old, lossy import wrote for each field its shorthand had no place for: none may remain. */
export const FORMAT_DROP =
  /left out .*\(the scenario format has no field for it\)|only outboundTrafficPolicy is modelled|named .* in the scenario/;
