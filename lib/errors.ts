// The base of every error Gatehouse throws: a stable machine-readable code (like fastify's FST_ERR_*
// or undici's UND_ERR_*) and an exit code for the CLI. One subclass per kind of failure.
export class GatehouseError extends Error {
  readonly code: string;
  /** Process exit code when this error ends a command: 1 invalid input, 2 usage or unavailable. */
  readonly exitCode: number;

  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** A command line that cannot be run: unknown flag, missing value, bad port. Exit 2. */
export class UsageError extends GatehouseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GH_ERR_USAGE', message, { exitCode: 2, cause: options?.cause });
  }
}

/** A command or a part of one that this build does not have yet. Exit 2. */
export class NotAvailableError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_NOT_AVAILABLE', message, { exitCode: 2 });
  }
}
