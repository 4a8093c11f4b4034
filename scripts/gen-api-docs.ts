// Writes docs/api.md, the API reference, from operator/src/api and protos/policies (the schemas the CRDs
// are generated from). operator/src/api/api-docs.test.ts fails when the checked-in file is stale.
import { writeFileSync } from 'node:fs';
import { renderApiDocs } from '../operator/src/api/api-docs.ts';

writeFileSync(new URL('../docs/api.md', import.meta.url), renderApiDocs());
