// The tools some integration files build on first use (helm, the Argo CD Lua runner, kstatus, the
// interop Python venv, the Java callout host), built once by the global setup before any file runs.
// Built inside a file, the first build runs in a `beforeAll` under the project's hook timeout and
// competes with every other file for the two cores; on a fresh, loaded machine helm alone took longer
// than that timeout and its file failed. Here nothing times out, and every file then finds the cache.
// A build that fails is logged and left to the files that need it, which try again and fail with the
// build's own error, so one missing tool never stops the files that do not use it.
import { ensureJavaHost } from './java.ts';
import { ensurePython } from './python.ts';
import { ensureArgoCdLua, ensureHelm, ensureKstatus } from './testbin.ts';

const tools: Array<[string, (log: (line: string) => void) => unknown]> = [
  ['helm', ensureHelm],
  ['argocd-lua', ensureArgoCdLua],
  ['kstatus', ensureKstatus],
  ['python venv', ensurePython],
  ['java callout host', ensureJavaHost],
];

export function prebuildTools(log: (line: string) => void): void {
  for (const [name, ensure] of tools) {
    const started = Date.now();
    try {
      ensure(log);
      log(`${name} ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      log(
        `${name} could not be built (${(err as Error).message.split('\n')[0]}); the files that need it will report it`,
      );
    }
  }
}
