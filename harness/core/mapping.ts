/** Whether a parsed YAML/JSON value is a mapping (an object, not an array or null): one test for every reader of parsed data. */
export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
