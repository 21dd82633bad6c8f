/**
 * Choosing scenarios: by name or regular expression, with `!` exclusions, and by tag (`!tag`
 * excludes). Pure, so the CLI's selection rules are unit tested.
 */

export interface Selectable {
  name: string;
  tags: string[];
}

export interface Selection {
  /** Names or regexes; "!x" excludes. No includes means every scenario. */
  patterns: string[];
  /** Tags; "!t" excludes. No includes means any tags. */
  tags: string[];
}

/** An exact name selects only itself; anything else is a regular expression searched in the name. */
function matcher(pattern: string, names: Set<string>): (name: string) => boolean {
  if (names.has(pattern)) return (name) => name === pattern;
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (err) {
    throw new Error(`scenario pattern "${pattern}" is neither a scenario name nor a valid regular expression: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return (name) => re.test(name);
}

function split(items: string[]): { include: string[]; exclude: string[] } {
  return { include: items.filter((i) => !i.startsWith('!')), exclude: items.filter((i) => i.startsWith('!')).map((i) => i.slice(1)) };
}

export function selectScenarios<T extends Selectable>(all: T[], sel: Selection): T[] {
  const names = new Set(all.map((s) => s.name));
  const pats = split(sel.patterns);
  const tags = split(sel.tags);
  const includes = pats.include.map((p) => matcher(p, names));
  const excludes = pats.exclude.map((p) => matcher(p, names));
  for (const p of pats.include) {
    if (!all.some((s) => matcher(p, names)(s.name))) throw new Error(`no scenario matches "${p}" (see: npm run egress-lab -- list)`);
  }
  return all.filter(
    (s) =>
      (includes.length === 0 || includes.some((m) => m(s.name))) &&
      !excludes.some((m) => m(s.name)) &&
      (tags.include.length === 0 || tags.include.some((t) => s.tags.includes(t))) &&
      !tags.exclude.some((t) => s.tags.includes(t)),
  );
}
