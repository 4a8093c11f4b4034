// Writes docs/errors.md from lib/error-codes.ts. scripts/error-docs.test.ts fails when the checked-in
// file is stale.
import { writeFileSync } from 'node:fs';
import { renderErrorDocs } from './error-docs.ts';

writeFileSync(new URL('../docs/errors.md', import.meta.url), renderErrorDocs());
