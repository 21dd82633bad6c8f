/**
 * The Istio versions whose outbound behaviour the sidecar model has facts for.
 *
 * The seeds were written against Istio 1.4-1.6 ("legacy"); the model follows Istio 1.25-1.31's
 * sources ("modern"), and real Istio 1.31-dev runs in the lab. Anything in between or beyond is rejected rather than guessed.
 */
/** The two eras the project knows: the seeds' Istio 1.4-1.6 ("legacy") and Istio 1.25+ ("modern"). */
export type IstioEra = 'legacy' | 'modern';

export interface IstioVersion {
  text: string;
  major: number;
  minor: number;
  era: IstioEra;
}

export const SUPPORTED_RANGES: ReadonlyArray<{ era: IstioEra; from: number; to: number }> = [
  { era: 'legacy', from: 4, to: 6 },
  { era: 'modern', from: 25, to: 31 },
];

export const SUPPORTED_TEXT = SUPPORTED_RANGES.map((r) => `1.${r.from}-1.${r.to}`).join(' and ');

/** Parses "1.4", "1.4.8" or "1.30.3"; returns an error message instead of a version when unsupported. */
export function parseIstioVersion(text: string): IstioVersion | string {
  const m = /^1\.(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return `"${text}" is not an Istio version like "1.4" or "1.30.3"`;
  const minor = Number(m[1]);
  const range = SUPPORTED_RANGES.find((r) => minor >= r.from && minor <= r.to);
  if (!range) return `Istio ${text} is not modelled; supported: ${SUPPORTED_TEXT}`;
  return { text, major: 1, minor, era: range.era };
}
