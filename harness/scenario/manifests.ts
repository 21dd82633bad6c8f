/**
 * A scenario's verbatim objects: its inline `objects:` and the documents of its `manifests:` files,
 * each with where it was written, so that every later check (kind, duplicates, the schemas, Istio's
 * validation) can name the file and line. Manifest files are read here and nowhere else: each must
 * be a regular YAML file under the scenario's own directory, at most MAX_MANIFEST_BYTES.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { verbatimObjectSchema, type VerbatimObject } from './schema.ts';
import { isClusterScoped } from './objectKinds.ts';

/** Where a verbatim object was written. */
export interface ObjectSource {
  file: string;
  line?: number;
  /** The scenario field: "objects[2]", or "manifests[0]" for any document of that file. */
  field: string;
  /** For a manifest document: its file as the scenario names it and its 1-based index. */
  document?: { path: string; index: number };
}

export interface ManifestIssue {
  field: string;
  file: string;
  line?: number;
  message: string;
}

export const MAX_MANIFEST_BYTES = 1024 * 1024;

/** kubectl's default namespace for namespaced kinds that name none. */
export function withDefaultNamespace(o: VerbatimObject): VerbatimObject {
  if (isClusterScoped(o.kind) || o.metadata.namespace !== undefined) return o;
  return { ...o, metadata: { ...o.metadata, namespace: 'default' } };
}

/** A manifest path must stay under the scenario's directory (no absolute paths, no `..` out of it, no symlink out of it). */
function manifestPath(scenarioFile: string, given: string): string | { error: string } {
  if (isAbsolute(given)) return { error: `expected a path relative to the scenario's directory, got the absolute path "${given}"` };
  const dir = dirname(scenarioFile);
  const path = resolve(dir, given);
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return { error: `no such file: ${path}` };
  }
  const realDir = realpathSync(dir);
  const rel = relative(realDir, real);
  if (rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel))
    return { error: `"${given}" leads outside the scenario's directory ${dir}` };
  const st = statSync(real);
  if (!st.isFile()) return { error: `"${given}" is not a regular file` };
  if (st.size > MAX_MANIFEST_BYTES) return { error: `"${given}" is ${st.size} bytes; a manifest may be at most ${MAX_MANIFEST_BYTES}` };
  return real;
}

/** Every document of every manifest file, parsed and checked as a verbatim object (envelope only). */
export function readManifests(
  scenarioFile: string,
  paths: string[],
): { objects: VerbatimObject[]; sources: ObjectSource[]; issues: ManifestIssue[] } {
  const objects: VerbatimObject[] = [];
  const sources: ObjectSource[] = [];
  const issues: ManifestIssue[] = [];
  paths.forEach((given, n) => {
    const field = `manifests[${n}]`;
    const path = manifestPath(scenarioFile, given);
    if (typeof path !== 'string') {
      issues.push({ field, file: scenarioFile, message: path.error });
      return;
    }
    const text = readFileSync(path, 'utf8');
    if (text.includes('\0')) {
      issues.push({ field, file: path, message: 'is binary (it contains NUL bytes); expected YAML' });
      return;
    }
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
    const all = Array.isArray(docs) ? docs : [];
    all.forEach((doc, d) => {
      const line = doc.contents?.range ? lines.linePos(doc.contents.range[0]).line : undefined;
      const at = { field, file: path, ...(line ? { line } : {}) };
      if (doc.errors.length > 0) {
        const err = doc.errors[0]!;
        issues.push({ ...at, line: lines.linePos(err.pos[0]).line, message: `YAML: ${err.message.split('\n')[0]}` });
        return;
      }
      let data: unknown;
      try {
        data = doc.toJS({ maxAliasCount: 100 });
      } catch (err) {
        issues.push({ ...at, message: `YAML: ${(err as Error).message.split('\n')[0]}` });
        return;
      }
      if (data === null || data === undefined) return;
      const parsed = verbatimObjectSchema.safeParse(data);
      if (!parsed.success) {
        for (const i of parsed.error.issues)
          issues.push({ ...at, message: `document ${d + 1}: ${i.path.join('.') || '(object)'}: ${i.message}` });
        return;
      }
      objects.push(withDefaultNamespace(parsed.data));
      sources.push({ ...at, document: { path: given, index: d + 1 } });
    });
  });
  return { objects, sources, issues };
}

/** How a source is named in messages: "objects[2]" or "manifests[0] (db.yaml, document 3)". */
export function describeSource(s: ObjectSource): string {
  return s.document ? `${s.field} (${s.document.path}, document ${s.document.index})` : s.field;
}
