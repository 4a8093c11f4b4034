// The catalogue (lib/error-codes.ts) against the source tree: every code the product, the e2e suites
// and the scripts use is catalogued once and documented, nothing catalogued is unused, and every error
// class thrown is a GatehouseError carrying a catalogued code with its exit code.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCodes } from './error-codes.ts';

const root = join(import.meta.dirname, '..');

/** Tracked and new (not ignored) TypeScript sources, without tests, test support, generated code and the catalogue. */
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', '*.ts'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter(
    (f) =>
      f !== '' &&
      !/\.test\.ts$|\.test-support\.ts$|\.d\.ts$/.test(f) &&
      !f.startsWith('protos/gen/') &&
      f !== 'lib/error-codes.ts',
  );
const sources = files.map((file) => ({ file, text: readFileSync(join(root, file), 'utf8') }));

const INTERNAL = /\bGH_(?:ERR|WARN)_[A-Z0-9_]*[A-Z0-9]\b/g;
/** A quoted fault code: an Apigee-style dotted name under one of the prefixes faults use. */
const FAULT =
  /['"`]((?:accesscontrol|flow|gatehouse|keymanagement|oauth|policies|protocol|steps|threat)\.[A-Za-z0-9_.-]+)(['"`]|\$\{)/g;
/** A dotted name under those prefixes that is not a fault code: the API group, the snapshot proto. */
const notAFault = (name: string) => /^gatehouse\.v\d+\./.test(name) || !/\.(?:[A-Z][^.]*|[^.]*[_-][^.]*)$/.test(name);

function usedCodes(): { used: Map<string, Set<string>>; dynamic: string[] } {
  const used = new Map<string, Set<string>>();
  const dynamic: string[] = [];
  const add = (code: string, file: string) => used.set(code, (used.get(code) ?? new Set()).add(file));
  for (const { file, text } of sources) {
    for (const [code] of text.matchAll(INTERNAL)) add(code, file);
    for (const [, name, end] of text.matchAll(FAULT)) {
      if (end === '${') dynamic.push(`${file}: ${name}\${...}`);
      else if (!notAFault(name!)) add(name!, file);
    }
  }
  return { used, dynamic };
}

/** The arguments of the call whose `(` is at `open`, up to its matching `)`. */
function callText(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(open, i + 1);
  }
  return text.slice(open);
}

const byCode = new Map(errorCodes.map((e) => [e.code, e]));

describe('lib/error-codes.ts', () => {
  it('has each code once', () => {
    const seen = new Set<string>();
    const duplicates = errorCodes.filter((e) => seen.size === seen.add(e.code).size).map((e) => e.code);
    expect(duplicates).toEqual([]);
  });

  it('documents every code: a meaning and an area, a status for a fault, an exit code for an error', () => {
    const problems: string[] = [];
    for (const e of errorCodes) {
      if (e.meaning.trim().length < 10) problems.push(`${e.code}: no meaning`);
      if (e.area.trim() === '') problems.push(`${e.code}: no area`);
      const internal = /^GH_(ERR|WARN)_[A-Z0-9_]+$/.test(e.code);
      if (e.family === 'fault') {
        if (internal) problems.push(`${e.code}: a fault code looks like an internal code`);
        if (e.httpStatus === undefined && e.statusNote === undefined) problems.push(`${e.code}: no HTTP status`);
        if (e.exitCode !== undefined) problems.push(`${e.code}: a fault has no exit code`);
      } else {
        if (!internal) problems.push(`${e.code}: not GH_ERR_* or GH_WARN_*`);
        if (e.httpStatus !== undefined) problems.push(`${e.code}: only faults have an HTTP status`);
        if (e.family === 'error' && e.exitCode === undefined) problems.push(`${e.code}: no exit code`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('has every code the source uses, and no code the source does not use', () => {
    const { used } = usedCodes();
    const missing = [...used]
      .filter(([code]) => !byCode.has(code))
      .map(([code, in_]) => `${code} (${[...in_].join(', ')})`);
    const unused = errorCodes.map((e) => e.code).filter((code) => !used.has(code));
    expect({ missing, unused }).toEqual({ missing: [], unused: [] });
  });

  it('sees fault codes as written: none is built at run time from a template', () => {
    expect(usedCodes().dynamic).toEqual([]);
  });

  it('has each GatehouseError code with the exit code it is thrown with', () => {
    const problems: string[] = [];
    let calls = 0;
    for (const { file, text } of sources) {
      for (const m of text.matchAll(/\b(?:super|new GatehouseError)(\()\s*'(GH_(?:ERR|WARN)_[A-Z0-9_]+)'/g)) {
        calls++;
        const code = m[2]!;
        const exitCode = Number(/\bexitCode:\s*(\d+)/.exec(callText(text, m.index + m[0].indexOf('(')))?.[1] ?? 1);
        const entry = byCode.get(code);
        if (!entry) problems.push(`${file}: ${code} is not in the catalogue`);
        else if (entry.exitCode !== exitCode)
          problems.push(`${file}: ${code} exits ${exitCode}, the catalogue says ${entry.exitCode}`);
      }
    }
    expect(problems).toEqual([]);
    expect(calls).toBeGreaterThan(50);
  });

  it('has no error class but GatehouseError extending a built-in error, and each direct subclass passes a code', () => {
    const builtIn =
      /\bclass\s+(\w+)\s+extends\s+(Error|TypeError|RangeError|SyntaxError|ReferenceError|EvalError|URIError|AggregateError)\b/g;
    const plain: string[] = [];
    const codeless: string[] = [];
    let subclasses = 0;
    for (const { file, text } of sources) {
      for (const m of text.matchAll(builtIn))
        if (!(file === 'lib/errors.ts' && m[1] === 'GatehouseError')) plain.push(`${file}: ${m[1]} extends ${m[2]}`);
      // An abstract subclass may take the code as a parameter: its concrete subclasses pass one
      // (each `super('GH_...'` is checked against the catalogue above).
      for (const m of text.matchAll(/(\babstract\s+)?\bclass\s+(\w+)\s+extends\s+GatehouseError\s*\{/g)) {
        subclasses++;
        if (m[1]) continue;
        const body = text.slice(m.index, text.indexOf('\n}', m.index));
        if (!/\bsuper\(\s*'GH_(?:ERR|WARN)_[A-Z0-9_]+'/.test(body)) codeless.push(`${file}: ${m[2]}`);
      }
    }
    expect({ plain, codeless }).toEqual({ plain: [], codeless: [] });
    expect(subclasses).toBeGreaterThan(50);
  });
});
