// Writes the dependency rules of scripts/layering.ts into the docs: the block between the layering
// markers in every docs/*.md that has them. scripts/layering.test.ts fails when a block is stale.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot, withLayering } from './layering.ts';

const docs = join(repositoryRoot, 'docs');
for (const name of readdirSync(docs).filter((f) => f.endsWith('.md'))) {
  const path = join(docs, name);
  const text = readFileSync(path, 'utf8');
  const updated = withLayering(text);
  if (updated !== text) writeFileSync(path, updated);
}
