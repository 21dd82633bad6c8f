/**
 * Reading what a customer sent, from disk: YAML or JSON files (multi-document, or a kubectl List),
 * and `istioctl bug-report` archives. An archive is read in memory, and of it only the cluster's
 * object dumps that istioctl writes (tools/bug-report/pkg/content/content.go: `cluster/k8s-resources`
 * from `kubectl get all,...,endpointslices,configmaps -o yaml`, `cluster/crs` with the Istio
 * resources); its `cluster/secrets` and the proxies' logs are never read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Parser } from 'tar';
import { LineCounter, parseAllDocuments } from 'yaml';
import { ImportError, type InputDocument } from './customerObjects.ts';

/** The archive members read, by their path's end. */
const BUG_REPORT_MEMBERS = [/(^|\/)cluster\/k8s-resources$/, /(^|\/)cluster\/crs$/];

function yamlDocuments(text: string, file: string): InputDocument[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list) {
    const e = d.errors[0];
    if (e) throw new ImportError(`${file}:${lines.linePos(e.pos[0]).line}: not YAML or JSON: ${e.message.split('\n')[0]}`);
  }
  return list.map((d) => ({ file, value: d.toJS({ maxAliasCount: 100 }) as unknown }));
}

/** The members of a .tar.gz that match, as text. */
async function archiveMembers(file: string, wanted: RegExp[]): Promise<Array<{ path: string; text: string }>> {
  const out: Array<{ path: string; text: string }> = [];
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      onReadEntry: (entry) => {
        if (entry.type !== 'File' || !wanted.some((w) => w.test(entry.path))) {
          entry.resume();
          return;
        }
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => out.push({ path: entry.path, text: Buffer.concat(chunks).toString('utf8') }));
      },
    });
    parser.on('error', (err: Error) => reject(new ImportError(`${file}: not a readable .tar.gz: ${err.message}`)));
    parser.on('end', () => resolve());
    parser.end(readFileSync(file));
  });
  return out;
}

export function isArchive(file: string): boolean {
  return /\.(tar\.gz|tgz)$/.test(file);
}

/** Every document of every file, each named by its file (and the archive member it came from). */
export async function readCustomerFiles(files: string[]): Promise<InputDocument[]> {
  const docs: InputDocument[] = [];
  for (const file of files) {
    let text: string;
    if (isArchive(file)) {
      if (!existsSync(file)) throw new ImportError(`${file}: no such file`);
      const members = await archiveMembers(file, BUG_REPORT_MEMBERS);
      if (members.length === 0)
        throw new ImportError(`${file}: no cluster/k8s-resources or cluster/crs in it; is it an istioctl bug-report archive?`);
      for (const m of members) docs.push(...yamlDocuments(m.text, `${basename(file)}:${m.path}`));
      continue;
    }
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ImportError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    docs.push(...yamlDocuments(text, file));
  }
  return docs;
}
