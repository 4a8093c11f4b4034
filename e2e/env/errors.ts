// Failures of the test environment, each with a stable code and a message that says what to do.
import { GatehouseError } from '../../lib/errors.ts';

/** A tool the environment needs (go, apt-get, redis-server) is missing and cannot be installed. */
export class TestEnvToolMissingError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_TESTENV_TOOL_MISSING', message, { exitCode: 2 });
  }
}

/** A service (etcd, kube-apiserver, redis) did not start or become ready in time. */
export class TestEnvStartError extends GatehouseError {
  constructor(message: string, cause?: unknown) {
    super('GH_ERR_TESTENV_START', message, { cause, exitCode: 2 });
  }
}

/** Something the tests wait for in the environment (an audit event, a token) did not happen in time. */
export class TestEnvTimeoutError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_TESTENV_TIMEOUT', message, { exitCode: 2 });
  }
}

/** A request the environment makes for the tests (apply, token request, helm) failed. */
export class TestEnvRequestError extends GatehouseError {
  constructor(message: string, cause?: unknown) {
    super('GH_ERR_TESTENV_REQUEST', message, { cause, exitCode: 2 });
  }
}
