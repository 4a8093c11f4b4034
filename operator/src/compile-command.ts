// `gatehouse compile -f DIR [-o FILE]`: load a folder of manifests, compile, print every error as
// `file: Kind/namespace/name: field.path: message` and exit 1, or write the snapshot JSON and exit 0
// (warnings go to stderr and do not fail). The folder is read and its problems reported by the same
// code as the operator's folder mode (source/folder.ts, pipeline/diagnostics.ts), in one pass.
import { writeFileSync } from 'node:fs';
import type { CompileCommandOptions } from './command.ts';
import { canonicalJson } from './compile/canonical-json.ts';
import { compile } from './compile/compile.ts';
import { credentialHashKeyFrom } from './source/credential-key.ts';
import { cliLine, collectDiagnostics } from './pipeline/diagnostics.ts';
import { loadFolder } from './source/folder.ts';

export function runCompile(options: CompileCommandOptions): Promise<number> {
  const loaded = loadFolder(options.file);
  const result = compile(loaded.objects, { credentialHashKey: credentialHashKeyFrom(loaded.objects) });
  const { errors, warnings } = collectDiagnostics(loaded.diagnostics, result);
  for (const d of [...errors, ...warnings]) process.stderr.write(`${cliLine(d)}\n`);
  if (errors.length > 0) {
    process.stderr.write(`gatehouse compile: ${errors.length} error(s); nothing written\n`);
    return Promise.resolve(1);
  }
  // The documented output; the snapshot's secretRefs restate names its Envoy resources carry.
  const { version, runtime, envoy } = result.snapshot;
  const json = `${canonicalJson({ version, runtime, envoy, errors: [], warnings }, 2)}\n`;
  if (options.output !== undefined) writeFileSync(options.output, json);
  else process.stdout.write(json);
  return Promise.resolve(0);
}
