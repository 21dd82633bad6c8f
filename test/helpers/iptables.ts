/** Annotation and text helpers shared by the iptables model and flag parser tests. */

export const ANNOTATION_PREFIX = 'traffic.sidecar.istio.io/';

export function traffic(annotations: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations).map(([key, value]) => [ANNOTATION_PREFIX + key, value]));
}

export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

/** The injector's istio-iptables flags for a pod without capture annotations (seed 004's line). */
export const INJECTOR_DEFAULT_ARGS = [
  '-p',
  '15001',
  '-z',
  '15006',
  '-u',
  '1337',
  '-m',
  'REDIRECT',
  '-i',
  '*',
  '-x',
  '',
  '-b',
  '*',
  '-d',
  '15090,15021,15020',
];
