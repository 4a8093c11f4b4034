// Writes crds/*.yaml from operator/src/api (the single source of the CRDs), and the same files into
// charts/gatehouse/crds/, where Helm installs CRDs from. A unit test fails when either checked-in copy
// differs from what this would write.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCrdFiles } from '../operator/src/api/crd-yaml.ts';

/** Where the CRDs go: the repository's crds/ (kubectl apply -f crds/) and the chart's (Helm's convention). */
const crdOutputDirs = ['crds', 'charts/gatehouse/crds'];

const root = new URL('..', import.meta.url).pathname;
const files = renderCrdFiles();
for (const relative of crdOutputDirs) {
  const dir = join(root, relative);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.yaml')) rmSync(join(dir, f));
  for (const { file, text } of files) writeFileSync(join(dir, file), text);
}
