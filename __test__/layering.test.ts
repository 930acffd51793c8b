// The modules of ts/ form layers: no file imports another that imports it
// back, directly or through a longer loop. Type-only imports count too
// (`import type`, `export type ... from`): a loop of types is still a loop
// of concepts, and every one we had was better broken by typing through a
// lower module (Stream's `server` is an `AcceptingServer`, which Server
// implements).
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';

/** The package's TypeScript sources (the test runs from build/__test__). */
const SOURCES = join(__dirname, '..', '..', 'ts');

/** Every .ts / .mts file below `dir`, as paths relative to SOURCES with `/`. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.m?ts$/.test(name) ? [relative(SOURCES, path).split(sep).join('/')] : [];
  });
}

/** Comments blanked out (strings kept), so that a commented-out or documented import is not read. */
function withoutComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop - 1;
    } else if (ch === "'" || ch === '"' || ch === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== ch) j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else {
      out += ch;
    }
  }
  return out;
}

/**
 * The module specifiers a file imports or re-exports from: `import ... from`,
 * `import type ... from`, `export ... from`, `export * from`, bare
 * `import 'x'` and type-level `import('x')`.
 */
export function importedSpecifiers(text: string): string[] {
  const code = withoutComments(text);
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?(?:[\w$]+\s*,\s*)?(?:\*\s*(?:as\s+[\w$]+\s*)?|\{[^}]*\}\s*|[\w$]+\s+)from\s*(['"])([^'"]+)\1/g,
    /\bimport\s*(['"])([^'"]+)\1/g,
    /\bimport\s*\(\s*(['"])([^'"]+)\1\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[2]));
}

/** The source file a relative specifier names ('./x.js' → 'x.ts'), or null for a package or a missing file. */
function resolveSpecifier(from: string, specifier: string, files: Set<string>): string | null {
  if (!specifier.startsWith('.')) return null;
  const target = posix.normalize(posix.join(posix.dirname(from), specifier));
  const stem = target.replace(/\.(m?js|m?ts)$/, '');
  for (const candidate of [`${stem}.ts`, `${stem}.mts`, `${stem}.d.ts`, `${stem}/index.ts`]) {
    if (files.has(candidate)) return candidate;
  }
  return null;
}

/** The import graph of ts/: file → the files it imports. */
function importGraph(): Map<string, string[]> {
  const files = sourceFiles(SOURCES);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(SOURCES, file), 'utf8');
    const targets = importedSpecifiers(text)
      .map((specifier) => resolveSpecifier(file, specifier, known))
      .filter((target): target is string => target !== null);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/**
 * Every elementary loop worth naming: for each strongly connected group of
 * files (Tarjan), one shortest loop through each of its files, as
 * `a.ts → b.ts → a.ts`.
 */
export function findCycles(graph: Map<string, string[]>): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      const selfLoop = group.length === 1 && (graph.get(node) ?? []).includes(node);
      if (group.length > 1 || selfLoop) groups.push(group);
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);

  const cycles = new Set<string>();
  for (const group of groups) {
    const members = new Set(group);
    for (const start of [...group].sort()) {
      // Breadth-first within the group: the shortest way back to `start`.
      const previous = new Map<string, string>();
      const queue = [start];
      let found = false;
      while (queue.length > 0 && !found) {
        const node = queue.shift()!;
        for (const next of graph.get(node) ?? []) {
          if (!members.has(next)) continue;
          if (next === start) {
            const path = [start];
            for (let at = node; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
            // Name each loop once, from its alphabetically first file.
            const first = path.reduce((a, b) => (b < a ? b : a));
            const rotated = [...path.slice(path.indexOf(first)), ...path.slice(0, path.indexOf(first))];
            cycles.add([...rotated, first].join(' → '));
            found = true;
            break;
          }
          if (!previous.has(next)) {
            previous.set(next, node);
            queue.push(next);
          }
        }
      }
    }
  }
  return [...cycles].sort();
}

test('the import reader sees every kind of import statement, and none in comments', (t) => {
  const text = [
    "import { a, b } from './one.js';",
    "import type { C } from './two.js';",
    "import * as three from './three.js';",
    "import four, { five } from './four.js';",
    "import {\n  six,\n  seven,\n} from './six.js';",
    "export { eight } from './eight.js';",
    "export type { Nine } from './nine.js';",
    "export * from './ten.js';",
    "import './eleven.js';",
    "type T = import('./twelve.js').T;",
    "// import { no } from './comment.js';",
    "/** import { no } from './doc.js'; */",
    "const url = 'http://example.com/'; // a string's // is not a comment",
  ].join('\n');
  t.deepEqual(importedSpecifiers(text).sort(), [
    './eight.js', './eleven.js', './four.js', './nine.js', './one.js', './six.js',
    './ten.js', './three.js', './twelve.js', './two.js',
  ]);
});

test('the loop finder names direct and longer loops, and passes a layered graph', (t) => {
  const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));
  t.deepEqual(findCycles(graph({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': [] })), []);
  t.deepEqual(findCycles(graph({ 'a.ts': ['b.ts'], 'b.ts': ['a.ts'] })), ['a.ts → b.ts → a.ts']);
  t.deepEqual(findCycles(graph({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['a.ts'], 'd.ts': ['a.ts'] })), ['a.ts → b.ts → c.ts → a.ts']);
});

test('no file in ts/ imports one that imports it back, directly or through others (type-only imports included)', (t) => {
  const graph = importGraph();
  t.true(graph.size > 20, `read ${graph.size} source files from ${SOURCES}`);
  t.true(graph.get('stream.ts')!.includes('framed_channel.ts'), 'the reader follows ./x.js specifiers to x.ts');
  const cycles = findCycles(graph);
  t.deepEqual(cycles, [], `import loops in ts/:\n  ${cycles.join('\n  ')}`);
});
