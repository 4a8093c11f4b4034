// Entry point of `gatehouse operator`.
import type { Options } from '../../bin/cli.ts';
import { NotAvailableError } from '../../lib/errors.ts';

export function runOperator(_options: Options): Promise<number> {
  return Promise.reject(new NotAvailableError('gatehouse operator is not built yet: it needs the xDS server (issue: distribution) and the kube source (issue: operator)'));
}
