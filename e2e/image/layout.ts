// The image's file set without Docker: the final stage's COPY lines of the Dockerfile, filtered by
// .dockerignore as the build context is, copied into a directory; node_modules holds the production
// dependencies only (those package-lock.json does not mark dev), as `npm install --omit=dev` leaves
// them in the deps stage. Then every import of every source in it can be checked to resolve inside it.
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, posix, relative } from 'node:path';
import { GatehouseError } from '../../lib/errors.ts';

/** The Dockerfile or .dockerignore says something this reader does not understand. */
export class ImageLayoutError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_TEST_IMAGE_LAYOUT', message);
  }
}

export interface CopyInstruction {
  /** `--from=STAGE`, when the files come from another stage rather than the build context. */
  from?: string;
  sources: string[];
  dest: string;
}

/** The final stage's WORKDIR and COPY instructions (line continuations joined, comments dropped). */
export function finalStageCopies(dockerfile: string): { workdir: string; copies: CopyInstruction[] } {
  const lines = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  let workdir = '/';
  let copies: CopyInstruction[] = [];
  for (const line of lines) {
    const [instruction = '', ...args] = line.split(/\s+/);
    switch (instruction.toUpperCase()) {
      case 'FROM':
        workdir = '/';
        copies = [];
        break;
      case 'WORKDIR':
        workdir = posix.resolve(workdir, args[0] ?? '/');
        break;
      case 'COPY': {
        const flags = args.filter((a) => a.startsWith('--'));
        const paths = args.filter((a) => !a.startsWith('--'));
        if (paths.length < 2 || paths.some((p) => p.startsWith('[') || /[*?]/.test(p)))
          throw new ImageLayoutError(`unsupported COPY: ${line}`);
        const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
        const dest = paths.at(-1)!;
        copies.push({
          ...(from ? { from } : {}),
          sources: paths.slice(0, -1),
          dest: posix.resolve(workdir, dest) + (dest.endsWith('/') ? '/' : ''),
        });
        break;
      }
      case 'ADD':
        throw new ImageLayoutError(`ADD is not understood here: ${line}`);
      default:
        break;
    }
  }
  return { workdir, copies };
}

/** One .dockerignore rule as moby's patternmatcher reads it. */
interface IgnoreRule {
  regex: RegExp;
  exclusion: boolean;
}

function patternRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else {
        re += '.*';
      }
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += `\\${pattern[++i]!}`;
    } else {
      re += /[.+^${}()|[\]]/.test(c) ? `\\${c}` : c;
    }
  }
  return new RegExp(`^${re}$`);
}

export function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      const exclusion = line.startsWith('!');
      const pattern = posix
        .normalize(exclusion ? line.slice(1).trim() : line)
        .replace(/^\/+/, '')
        .replace(/\/+$/, '');
      return { regex: patternRegex(pattern), exclusion };
    });
}

/** Whether the build context leaves `path` (relative, with /) out: the last rule matching it or a parent decides. */
export function ignored(rules: IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  let out = false;
  for (const rule of rules) {
    const matches = parts.some((_, i) => rule.regex.test(parts.slice(0, i + 1).join('/')));
    if (matches) out = !rule.exclusion;
  }
  return out;
}

/** Copies `src` (file or directory, relative to the context) to `dest`, skipping what .dockerignore drops. */
function copyFromContext(context: string, rules: IgnoreRule[], src: string, dest: string, files: string[]): void {
  const from = join(context, src);
  if (!existsSync(from)) throw new ImageLayoutError(`COPY source ${src} is not in the build context`);
  if (ignored(rules, posix.normalize(src)))
    throw new ImageLayoutError(`COPY source ${src} is excluded by .dockerignore`);
  if (statSync(from).isDirectory()) {
    for (const entry of readdirSync(from)) {
      const rel = posix.join(posix.normalize(src), entry);
      if (ignored(rules, rel)) continue;
      copyFromContext(context, rules, rel, join(dest, entry), files);
    }
    return;
  }
  mkdirSync(dirname(dest), { recursive: true });
  cpSync(from, dest);
  files.push(dest);
}

/** Production packages of package-lock.json (top level; nested ones come inside their parent). */
export function productionPackages(lock: { packages: Record<string, { dev?: boolean; link?: boolean }> }): string[] {
  return Object.entries(lock.packages)
    .filter(
      ([path, p]) =>
        path.startsWith('node_modules/') && !p.dev && !path.slice('node_modules/'.length).includes('node_modules/'),
    )
    .map(([path]) => path);
}

export interface ImageLayout {
  root: string;
  /** Every file copied from the build context (absolute paths under root). */
  files: string[];
  /** The production packages linked into root/node_modules. */
  packages: string[];
}

/**
 * Lays the image out in `root` from the repository at `context`. The deps stage's node_modules is
 * played by symlinks to the context's installed production packages (the image installs the same
 * versions from the same lock).
 */
export function assembleImage(context: string, root: string): ImageLayout {
  const { workdir, copies } = finalStageCopies(readFileSync(join(context, 'Dockerfile'), 'utf8'));
  const rules = parseDockerignore(readFileSync(join(context, '.dockerignore'), 'utf8'));
  const files: string[] = [];
  let packages: string[] = [];
  for (const copy of copies) {
    const dest = join(root, relative(workdir, copy.dest));
    if (copy.from !== undefined) {
      if (copy.sources.length !== 1 || copy.sources[0] !== posix.join(workdir, 'node_modules')) {
        throw new ImageLayoutError(
          `COPY --from=${copy.from} ${copy.sources.join(' ')}: only the deps stage's node_modules is understood`,
        );
      }
      packages = productionPackages(
        JSON.parse(readFileSync(join(context, 'package-lock.json'), 'utf8')) as Parameters<
          typeof productionPackages
        >[0],
      );
      for (const pkg of packages) {
        const target = join(dest, relative('node_modules', pkg));
        mkdirSync(dirname(target), { recursive: true });
        symlinkSync(join(context, pkg), target, 'dir');
      }
      continue;
    }
    for (const src of copy.sources) {
      const isDir = statSync(join(context, src)).isDirectory();
      const target = isDir || copy.dest.endsWith('/') ? (isDir ? dest : join(dest, posix.basename(src))) : dest;
      copyFromContext(context, rules, src, target, files);
    }
  }
  return { root, files, packages };
}

const specifierPatterns = [
  /^\s*(?:import|export)\s[^'"`;]*?\sfrom\s+'([^']+)'/gm,
  /^\s*import\s+'([^']+)'/gm,
  /\bimport\(\s*'([^']+)'\s*(?:,[^)]*)?\)/g,
  /\bnew URL\(\s*'([^']+)'\s*,\s*import\.meta\.url\s*\)/g,
];

/** Relative and bare specifiers a source file imports (static, dynamic with a literal, new URL(..., import.meta.url)). */
export function importsOf(source: string): string[] {
  return [...new Set(specifierPatterns.flatMap((re) => [...source.matchAll(re)].map((m) => m[1]!)))];
}

export interface UnresolvedImport {
  file: string;
  specifier: string;
  /** Where it points, relative to the image root, when relative. */
  target?: string;
}

const builtins = new Set(builtinModules);

/** Every import of every .ts/.js source in the image that does not resolve inside the image. */
export function unresolvedImports(layout: ImageLayout): UnresolvedImport[] {
  const out: UnresolvedImport[] = [];
  for (const file of layout.files.filter((f) => /\.(ts|js|mjs)$/.test(f))) {
    for (const specifier of importsOf(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('node:') || builtins.has(specifier)) continue;
      if (specifier.startsWith('.')) {
        const target = join(dirname(file), specifier);
        const inside = !relative(layout.root, target).startsWith('..');
        if (!inside || !existsSync(target))
          out.push({ file: relative(layout.root, file), specifier, target: relative(layout.root, target) });
        continue;
      }
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
      const link = join(layout.root, 'node_modules', name);
      if (!existsSync(link) || !lstatSync(link).isSymbolicLink())
        out.push({ file: relative(layout.root, file), specifier });
    }
  }
  return out;
}
