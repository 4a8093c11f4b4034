// devproxy's errors, one class per kind of failure (docs/architecture.md#tests-and-quality-bars).
import { GatehouseError } from '../../lib/errors.ts';

/** An xDS resource devproxy cannot apply, as Envoy would reject it: the update is NACKed with this message. */
export class ConfigRejectedError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_DEVPROXY_CONFIG_REJECTED', message);
  }
}

/** A listener address that could not be bound. */
export class ListenerBindError extends GatehouseError {
  constructor(address: string, cause: unknown) {
    super('GH_ERR_DEVPROXY_LISTENER_BIND', `cannot listen on ${address}: ${(cause as Error).message}`, { cause });
  }
}
