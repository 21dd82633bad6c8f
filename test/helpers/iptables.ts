/** Annotation and text helpers shared by the iptables model and flag parser tests. */

export const ANNOTATION_PREFIX = 'traffic.sidecar.istio.io/';

export function traffic(annotations: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations).map(([key, value]) => [ANNOTATION_PREFIX + key, value]));
}

export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}
