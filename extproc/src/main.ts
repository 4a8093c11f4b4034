// Entry point of `gatehouse extproc`.
import type { Options } from '../../bin/cli.ts';
import { NotAvailableError } from '../../lib/errors.ts';

export function runExtproc(_options: Options): Promise<number> {
  return Promise.reject(new NotAvailableError('gatehouse extproc is not built yet: it needs the ext_proc server and the flow engine (issue: policy engine)'));
}
