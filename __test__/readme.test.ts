// Docs that run: every ```ts snippet of README.md is taken from a program in
// examples/, which the example tests exercise, so the README cannot drift
// from code that works. A snippet matches when its lines appear one after
// another in one example, ignoring leading indentation; a line `// ...`
// stands for lines left out, so the parts around it must appear in order.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const ELISION = '// ...';

const normalize = (text: string): string[] => text.split(/\r?\n/).map((line) => line.trim());

/** The ```ts blocks of a Markdown text, with the line each starts on. */
function tsBlocks(markdown: string): { line: number; code: string }[] {
  const blocks: { line: number; code: string }[] = [];
  const lines = markdown.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    if (!/^\s*```(ts|typescript)\s*$/.test(lines[index])) continue;
    const start = index + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end])) end++;
    blocks.push({ line: start, code: lines.slice(start, end).join('\n') });
    index = end;
  }
  return blocks;
}

/** Where `part` starts in `lines` at or after `from`, or -1. */
function indexOfRun(lines: string[], part: string[], from: number): number {
  for (let start = from; start + part.length <= lines.length; start++) {
    if (part.every((line, offset) => lines[start + offset] === line)) return start;
  }
  return -1;
}

/** True when every part of the snippet (split at `// ...`) appears in `lines`, in order. */
function contains(lines: string[], snippet: string): boolean {
  const parts: string[][] = [[]];
  for (const line of normalize(snippet)) {
    if (line === ELISION) parts.push([]);
    else parts[parts.length - 1].push(line);
  }
  let from = 0;
  for (const part of parts) {
    while (part.length > 0 && part[0] === '') part.shift();
    while (part.length > 0 && part[part.length - 1] === '') part.pop();
    if (part.length === 0) continue;
    const at = indexOfRun(lines, part, from);
    if (at < 0) return false;
    from = at + part.length;
  }
  return true;
}

const examplesDir = join(ROOT, 'examples');
const examples = readdirSync(examplesDir)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => ({ file, lines: normalize(readFileSync(join(examplesDir, file), 'utf8')) }));
const blocks = tsBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));

test('README.md has TypeScript snippets', (t) => {
  t.true(blocks.length >= 4, `found ${blocks.length}`);
});

for (const { line, code } of blocks) {
  test(`README.md line ${line}: the snippet is taken from an example`, (t) => {
    const sources = examples.filter(({ lines }) => contains(lines, code)).map(({ file }) => file);
    t.true(sources.length > 0, `not found verbatim in any examples/*.ts:\n${code}`);
  });
}

test('the elision rule: parts must appear in order, whole lines only', (t) => {
  const lines = normalize('a();\n  b();\n  c();\nd();');
  t.true(contains(lines, 'b();\nc();'));
  t.true(contains(lines, 'a();\n// ...\nd();'));
  t.false(contains(lines, 'd();\n// ...\na();'));
  t.false(contains(lines, 'a();\nc();'));
  t.false(contains(lines, 'b()'));
});
