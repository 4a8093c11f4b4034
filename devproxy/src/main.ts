// Entry point of `gatehouse devproxy`, the Envoy stand-in.
import type { Options } from '../../bin/cli.ts';
import { NotAvailableError } from '../../lib/errors.ts';

export function runDevproxy(_options: Options): Promise<number> {
  return Promise.reject(new NotAvailableError('gatehouse devproxy is not built yet: it needs the xDS server and the Envoy stand-in (issue: distribution)'));
}
