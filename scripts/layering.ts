// The dependency rules between the parts of the repository, as data: which files each part may import,
// and which packages. scripts/layering.test.ts holds every relative import and every package import
// in the repository (product code, tests, e2e, bench, scripts) against this table and names each edge
// that breaks a rule; scripts/gen-layering.ts renders it into docs/layering.md.
//
// A file belongs to the layer with the longest path that contains it. Product code is every file of a
// product layer except tests (*.test.ts) and test support (*.test-support.ts); tests may import what
// their layer's product code may, plus `testImports`.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import ts from 'typescript';

export interface Layer {
  name: string;
  /** Folders (ending in /) and files, from the repository root. */
  paths: readonly string[];
  /** Product code (shipped in the image); false for tests, benchmarks and tools. */
  product: boolean;
  /** Folders and files its code may import besides its own. */
  imports: readonly string[];
  /** More that its tests and test support may import (a peer to test against, a harness). */
  testImports?: readonly string[];
  /** When set, the only packages and node: modules its product code may import ('@grpc/*' is a scope). */
  packages?: readonly string[];
  /** Packages its product code never imports. */
  forbiddenPackages?: readonly string[];
  /** Why: rendered into the docs and printed with every violation. */
  why: string;
}

const planes = ['operator/src/', 'extproc/src/', 'devproxy/src/'];
const shared = ['lib/', 'protos/'];

export const layers: readonly Layer[] = [
  {
    name: 'compile',
    paths: ['operator/src/compile/'],
    product: true,
    imports: ['operator/src/api/', 'protos/gen/json/', 'protos/policies/', 'lib/errors.ts'],
    testImports: ['operator/src/', 'lib/', 'protos/'],
    packages: ['node:crypto', 'node:net', 're2js'],
    why: "the compiler is pure (objects in, snapshot out; no I/O, no Kubernetes, no xDS), so the operator, `gatehouse compile` and tests run the same deterministic compile; it builds values of the proto3 JSON types in protos/gen/json, and the strict codec that reads Envoy's .proto files to check them is the xDS server's (operator/src/xds/envoy-codec.ts)",
  },
  {
    name: 'api',
    paths: ['operator/src/api/'],
    product: true,
    imports: ['protos/gen/gatehouse/', 'protos/policies/', 'lib/errors.ts'],
    testImports: ['operator/src/', 'lib/', 'protos/', 'e2e/'],
    packages: ['ajv', 'ajv-formats', 'yaml'],
    why: 'the CRD schemas and their validation; the compiler imports them, so they are as pure as it is',
  },
  {
    name: 'operator',
    paths: ['operator/src/'],
    product: true,
    imports: shared,
    testImports: ['extproc/src/', 'devproxy/src/', 'e2e/'],
    why: 'the control plane shares only protos/ and lib/ with the data plane; its tests may run a real extproc or devproxy as the peer they test against',
  },
  {
    name: 'extproc engine',
    paths: ['extproc/src/flow/', 'extproc/src/policies/'],
    product: true,
    imports: [
      'extproc/src/flow/',
      'extproc/src/policies/',
      'extproc/src/stores/',
      'extproc/src/workers/tasks.ts',
      'extproc/src/workers/inline.ts',
      'extproc/src/egress/errors.ts',
      'protos/gen/gatehouse/',
      'protos/gen/apigee/',
      'protos/policies/',
      'lib/errors.ts',
    ],
    testImports: ['extproc/src/', 'lib/', 'protos/', 'e2e/'],
    forbiddenPackages: ['@grpc/*', 'grpc-health-check'],
    why: "the flow engine and the policies know nothing of gRPC or Envoy's messages (extproc/src/server translates them; ExternalCallout builds Apigee's MessageContext types, protos/gen/apigee, and extproc/src/callouts sends them), so they run the same under any transport and in tests without one; of the worker pool they see only the table of pure tasks it runs (workers/tasks.ts) and the inline runner of those tasks (workers/inline.ts), never the threads; of outbound HTTP only the error classes (egress/errors.ts), the client reaching them as an interface on the PolicyContext",
  },
  {
    name: 'extproc',
    paths: ['extproc/src/'],
    product: true,
    imports: shared,
    testImports: ['devproxy/src/', 'e2e/'],
    why: "the data plane never imports the operator (the planes share protos/ and lib/); its tests may drive it with devproxy, Envoy's side of ext_proc",
  },
  {
    name: 'devproxy',
    paths: ['devproxy/src/'],
    product: true,
    imports: shared,
    testImports: ['operator/src/', 'e2e/'],
    why: "the Envoy stand-in reaches the planes only over xDS and ext_proc, as Envoy would; its tests may run the operator's real xDS server as the peer",
  },
  {
    name: 'lib',
    paths: ['lib/'],
    product: true,
    imports: [],
    testImports: ['e2e/'],
    why: 'process plumbing every command shares (errors, logging, shutdown, TLS, the command line); it knows no plane',
  },
  {
    name: 'protos',
    paths: ['protos/'],
    product: true,
    imports: ['lib/'],
    why: 'the contract both planes share: the runtime snapshot, Envoy types, the policy config schemas',
  },
  {
    name: 'bin',
    paths: ['bin/'],
    product: true,
    imports: [...planes, ...shared, 'package.json'],
    testImports: ['e2e/'],
    why: 'the one `gatehouse` command composes the commands the planes declare; nothing imports it back',
  },
  {
    name: 'e2e',
    paths: ['e2e/'],
    product: false,
    imports: [...planes, ...shared, 'bin/'],
    why: 'the end-to-end suites and the test environment: they may reach into every part, and nothing shipped imports them',
  },
  {
    name: 'bench',
    paths: ['bench/'],
    product: false,
    imports: [...planes, ...shared, 'e2e/'],
    why: 'benchmarks, on the real parts and the test environment',
  },
  {
    name: 'scripts',
    paths: ['scripts/'],
    product: false,
    imports: [...planes, ...shared],
    why: 'generators and checks run by npm scripts and tests',
  },
  {
    name: 'tooling',
    paths: ['vitest.config.ts', 'eslint.config.js'],
    product: false,
    imports: [],
    why: 'tool configuration',
  },
];

export interface Exception {
  /** A file or folder. */
  from: string;
  /** Files, folders or packages it may import although its layer may not. */
  to: readonly string[];
  why: string;
}

/** Edges that break a rule today, each named and explained; the test fails when one is no longer used. */
export const exceptions: readonly Exception[] = [];

/** Rules that hold for every product layer. */
export const productRules = [
  'product code never imports tests (`*.test.ts`) or test support (`*.test-support.ts`): the image leaves them out',
  'product code imports only the dependencies package.json lists under `dependencies` and `node:` modules: the image installs no devDependencies',
];

// --- the imports of a file --------------------------------------------------------------------------

export interface Import {
  specifier: string;
  line: number;
  kind: 'import' | 'type' | 'dynamic' | 're-export';
}

/**
 * Every module a source names: import declarations (also multi-line, type-only and side-effect ones),
 * `export ... from`, `import x = require()`, `import('...')` with a string literal and `import('...')`
 * types. Comments and strings are not imports.
 */
export function importsOf(file: string, text: string): Import[] {
  const kind = /\.[cm]?js$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const found: Import[] = [];
  const add = (literal: ts.Node, k: Import['kind']) => {
    if (!ts.isStringLiteralLike(literal)) return;
    const line = source.getLineAndCharacterOfPosition(literal.getStart(source)).line + 1;
    found.push({ specifier: literal.text, line, kind: k });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, node.importClause?.isTypeOnly ? 'type' : 'import');
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node.moduleSpecifier, node.isTypeOnly ? 'type' : 're-export');
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, 'import');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      if (node.arguments[0]) add(node.arguments[0], 'dynamic');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, 'type');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

// --- checking ------------------------------------------------------------------------------------------

export interface Violation {
  file: string;
  line: number;
  /** The imported file (from the root) or package. */
  target: string;
  rule: string;
}

export const isTest = (file: string) => /\.test\.[cm]?[jt]s$/.test(file);
export const isTestSupport = (file: string) => /\.test-support\.[cm]?[jt]s$/.test(file);

const within = (path: string, prefix: string) => (prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix);

export function layerOf(file: string): Layer | undefined {
  let best: { layer: Layer; length: number } | undefined;
  for (const layer of layers)
    for (const p of layer.paths)
      if (within(file, p) && (!best || p.length > best.length)) best = { layer, length: p.length };
  return best?.layer;
}

/** The package a bare specifier names: `@scope/name` or `name` (subpaths dropped), or `node:x`. */
export function packageName(specifier: string): string {
  if (specifier.startsWith('node:')) return specifier;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

const packageMatches = (name: string, pattern: string) =>
  pattern.endsWith('/*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;

export interface CheckOptions {
  /** package.json `dependencies`. */
  dependencies: readonly string[];
  /** The exceptions to apply (default: `exceptions`). */
  exceptions?: readonly Exception[];
  /** Called for each exception an edge used. */
  used?: (exception: Exception, target: string) => void;
}

/** The rules an edge from `file` to `specifier` breaks (at most one: the first that applies). */
export function checkEdge(file: string, imp: Import, options: CheckOptions): Violation | undefined {
  const layer = layerOf(file);
  const at = { file, line: imp.line };
  if (!layer)
    return { ...at, target: imp.specifier, rule: 'every file belongs to a layer: add it to scripts/layering.ts' };
  const test = isTest(file) || isTestSupport(file);
  const product = layer.product && !test;
  const relativeImport = imp.specifier.startsWith('.');
  const target = relativeImport
    ? posix.normalize(posix.join(posix.dirname(file), imp.specifier))
    : packageName(imp.specifier);
  const excepted = (options.exceptions ?? exceptions).find(
    (e) => within(file, e.from) && e.to.some((t) => within(target, t)),
  );
  const violation = (rule: string): Violation | undefined => {
    if (excepted) {
      options.used?.(excepted, target);
      return undefined;
    }
    return { ...at, target, rule };
  };

  if (relativeImport) {
    if (product && (isTest(target) || isTestSupport(target)))
      return violation('product code never imports tests or test support (the image leaves them out)');
    const allowed = [...new Set([...layer.paths, ...layer.imports, ...(test ? (layer.testImports ?? []) : [])])];
    if (!allowed.some((p) => within(target, p)))
      return violation(
        `${layer.name} ${test ? 'tests import' : 'imports'} only ${allowed.join(', ') || 'itself'}: ${layer.why}`,
      );
    return undefined;
  }
  if (!product) return undefined;
  const name = target;
  if (layer.forbiddenPackages?.some((p) => packageMatches(name, p)))
    return violation(`${layer.name} never imports ${layer.forbiddenPackages.join(', ')}: ${layer.why}`);
  if (layer.packages && !layer.packages.some((p) => packageMatches(name, p)))
    return violation(`${layer.name} imports only the packages ${layer.packages.join(', ')}: ${layer.why}`);
  if (!name.startsWith('node:') && !options.dependencies.includes(name))
    return violation(
      'product code imports only production dependencies (package.json `dependencies`) and node: modules',
    );
  return undefined;
}

const skipped = new Set(['node_modules', 'coverage', 'tmp', 'testbin']);

/** Every JavaScript and TypeScript source under `root`, relative, with `/`. */
export function sources(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => {
      if (e.name.startsWith('.') || skipped.has(e.name)) return [];
      const path = join(dir, e.name);
      if (e.isDirectory()) return sources(root, path);
      return /\.[cm]?[jt]s$/.test(e.name) && !e.name.endsWith('.d.ts')
        ? [relative(root, path).split(sep).join('/')]
        : [];
    })
    .sort();
}

export interface Report {
  files: number;
  edges: number;
  violations: Violation[];
  /** Exceptions no edge needs any more: delete them. */
  unusedExceptions: Exception[];
}

export function checkRepository(root: string): Report {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: object };
  const dependencies = Object.keys(pkg.dependencies ?? {});
  const used = new Set<Exception>();
  const violations: Violation[] = [];
  const files = sources(root);
  let edges = 0;
  for (const file of files) {
    for (const imp of importsOf(file, readFileSync(join(root, file), 'utf8'))) {
      edges++;
      const v = checkEdge(file, imp, { dependencies, used: (e) => used.add(e) });
      if (v) violations.push(v);
    }
  }
  return { files: files.length, edges, violations, unusedExceptions: exceptions.filter((e) => !used.has(e)) };
}

export const formatViolation = (v: Violation) => `${v.file}:${v.line} -> ${v.target} (rule: ${v.rule})`;

// --- the docs ------------------------------------------------------------------------------------------

export const docMarkers = { begin: '<!-- layering:begin (npm run gen:layering) -->', end: '<!-- layering:end -->' };

const code = (items: readonly string[]) => items.map((i) => `\`${i}\``).join(', ');
const cell = (text: string) => text.replace(/\|/g, '\\|');

/** The tables, between the markers, as docs show them. */
export function renderLayering(): string {
  const rows = layers.map((l) =>
    [
      `**${l.name}**`,
      code(l.paths),
      l.imports.length ? code(l.imports) : 'nothing else',
      l.testImports?.length ? code(l.testImports) : '',
      [
        ...(l.packages ? [`only ${code(l.packages)}`] : []),
        ...(l.forbiddenPackages ? [`never ${code(l.forbiddenPackages)}`] : []),
      ].join('; '),
      cell(l.why),
    ].join(' | '),
  );
  return [
    docMarkers.begin,
    '| layer | files | may import (besides itself) | its tests also | packages (product code) | why |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r} |`),
    '',
    'Every source file belongs to a layer. For every product layer (all but e2e, bench, scripts and tooling):',
    '',
    ...productRules.map((r) => `- ${r}`),
    '',
    'Exceptions (each one named; the test fails when one is no longer needed):',
    '',
    '| file | may also import | why |',
    '|---|---|---|',
    ...exceptions.map((e) => `| \`${e.from}\` | ${code(e.to)} | ${cell(e.why)} |`),
    docMarkers.end,
  ].join('\n');
}

/** `text` with the block between the markers replaced by the current tables. */
export function withLayering(text: string): string {
  const begin = text.indexOf(docMarkers.begin);
  const end = text.indexOf(docMarkers.end);
  if (begin < 0 || end < begin) return text;
  return text.slice(0, begin) + renderLayering() + text.slice(end + docMarkers.end.length);
}

export const repositoryRoot = dirname(dirname(new URL(import.meta.url).pathname));
