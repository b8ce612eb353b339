/**
 * Generated parts of hand-written markdown: the text between `<!-- NAME:start -->` and
 * `<!-- NAME:end -->` belongs to a script (`npm run docs:config`, `npm run docs:errors`); the
 * rest of the file to its authors.
 */
import { readFileSync, writeFileSync } from 'node:fs';

function markers(name: string): { start: string; end: string } {
  return { start: `<!-- ${name}:start -->`, end: `<!-- ${name}:end -->` };
}

/** The text between the markers as it stands in `markdown`; undefined without them. */
export function markedSection(markdown: string, name: string): string | undefined {
  const { start, end } = markers(name);
  const from = markdown.indexOf(start);
  const to = markdown.indexOf(end);
  return from < 0 || to < from ? undefined : markdown.slice(from + start.length, to);
}

/** `markdown` with the text between the markers replaced by `body`. */
export function withMarkedSection(markdown: string, name: string, body: string): string {
  const { start, end } = markers(name);
  const from = markdown.indexOf(start);
  const to = markdown.indexOf(end);
  if (from < 0 || to < from) throw new Error(`the markers ${start} and ${end} are missing or out of order`);
  return markdown.slice(0, from + start.length) + body + markdown.slice(to);
}

/** Rewrites the section in `file` if it changed, and says which it was. */
export function writeMarkedSection(file: URL, name: string, body: string): void {
  const before = readFileSync(file, 'utf8');
  const after = withMarkedSection(before, name, body);
  if (after !== before) writeFileSync(file, after);
  process.stdout.write(`${file.pathname.split('/').at(-1)}: ${name} ${after === before ? 'up to date' : 'rewritten'}\n`);
}
