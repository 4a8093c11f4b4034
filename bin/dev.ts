// `gatehouse dev`: every part on one machine.
import type { Options } from './cli.ts';
import { NotAvailableError } from '../lib/errors.ts';

export function runDev(_options: Options): Promise<number> {
  return Promise.reject(new NotAvailableError('gatehouse dev is not built yet: it needs the compiler, extproc, the xDS server and devproxy (issues: compiler, policy engine, distribution)'));
}
