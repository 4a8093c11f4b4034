// `gatehouse compile`: load, validate and compile manifests offline.
import type { Options } from '../../bin/cli.ts';
import { NotAvailableError } from '../../lib/errors.ts';

export function runCompile(_options: Options): Promise<number> {
  return Promise.reject(new NotAvailableError('gatehouse compile is not built yet: it needs the API types and the compiler (issue: API and compiler)'));
}
