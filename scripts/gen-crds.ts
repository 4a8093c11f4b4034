// Writes crds/*.yaml from operator/src/api (the single source of the CRDs). A unit test fails when the
// checked-in files differ from what this would write.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCrdFiles } from '../operator/src/api/crd-yaml.ts';

const dir = join(new URL('..', import.meta.url).pathname, 'crds');
mkdirSync(dir, { recursive: true });
for (const f of readdirSync(dir)) if (f.endsWith('.yaml')) rmSync(join(dir, f));
for (const { file, text } of renderCrdFiles()) writeFileSync(join(dir, file), text);
