// Gatehouse's own fault codes, in one catalogue (docs/architecture.md#the-envoy-and-extproc-contract): what the data plane answers, in the
// standard fault body, when the failure is not a policy's. Policies' codes are Apigee's and live with
// each policy. One class per failure; each is a PolicyFault, so fault rules see `fault.name` and
// `error.code` for these like for any policy fault.
import { PolicyFault } from './faults.ts';

export interface GatehouseFaultSpec {
  status: number;
  /** When it is answered, for docs and operators. */
  when: string;
}

export const GATEHOUSE_FAULTS = {
  'gatehouse.RouteNotFound': { status: 404, when: 'the x-gatehouse-route metadata names no API proxy' },
  'gatehouse.NotReady': { status: 503, when: 'extproc has no runtime snapshot yet' },
  'gatehouse.PayloadTooLarge': {
    status: 413,
    when: 'a request body a step must read exceeds --max-body-bytes (checked against content-length first)',
  },
  'gatehouse.ResponseTooLarge': { status: 502, when: 'a response body a step must read exceeds --max-body-bytes' },
  'gatehouse.RequestHeadersTooLarge': {
    status: 431,
    when: 'request headers or trailers exceed --max-headers-count or --max-request-headers-kb',
  },
  'gatehouse.ResponseHeadersTooLarge': {
    status: 502,
    when: 'response headers or trailers exceed --max-headers-count or --max-request-headers-kb',
  },
  'gatehouse.BodyBufferFull': {
    status: 503,
    when: 'buffering this body would take the bodies held by all streams past --max-buffered-body-bytes',
  },
  'gatehouse.WorkQueueFull': {
    status: 503,
    when: 'policy work for a large body found every worker busy and --work-queue tasks already waiting',
  },
  'gatehouse.WorkBudgetExceeded': {
    status: 503,
    when: "a phase's policy work on the worker pool (queueing included) ran past --work-budget-ms",
  },
  'gatehouse.PathParameters': {
    status: 400,
    when: 'the path (before ?) holds a ; parameter, which routing and extproc keep in its segment but many upstreams strip',
  },
  'gatehouse.InvalidBody': { status: 400, when: 'a body does not parse as its content type says' },
  'gatehouse.StoreUnavailable': {
    status: 503,
    when: "Redis cannot answer within its deadline and the DataPlane's redis.onUnavailable is FailClosed",
  },
  'gatehouse.InternalError': { status: 500, when: 'anything unexpected (not described to the client; logged)' },
  'gatehouse.Cancelled': {
    status: 499,
    when: 'never sent: the stream ended (Envoy gave up or the client left) while its policy work waited for a worker',
  },
} as const satisfies Record<string, GatehouseFaultSpec>;

export type GatehouseFaultCode = keyof typeof GATEHOUSE_FAULTS;

/** A fault of the catalogue above: its status comes from the catalogue. */
export abstract class GatehouseFault extends PolicyFault {
  constructor(errorCode: GatehouseFaultCode, faultString: string, headers?: Record<string, string>) {
    super({ status: GATEHOUSE_FAULTS[errorCode].status, errorCode, faultString, ...(headers ? { headers } : {}) });
  }
}

const RETRY = { 'retry-after': '1' };

export class RouteNotFoundFault extends GatehouseFault {
  constructor(route: string) {
    super('gatehouse.RouteNotFound', `No API proxy for route "${route}"`);
  }
}

export class NotReadyFault extends GatehouseFault {
  constructor() {
    super('gatehouse.NotReady', 'No runtime snapshot loaded yet');
  }
}

/**
 * A `;` path parameter (`/a;x=1/b`, `/a/..;/b`): Envoy 1.36.2 routes and extproc matches with it inside
 * its segment, while servlet-style upstreams strip it (and read `..;` as `..`), so the upstream would
 * serve a path no rule was checked against (docs/architecture.md#the-envoy-and-extproc-contract).
 */
export class PathParametersFault extends GatehouseFault {
  constructor() {
    super('gatehouse.PathParameters', 'Path parameters (;) are not accepted');
  }
}

/** Whether the path part of a request target holds a `;` (path parameters; the query may). */
export function hasPathParameters(target: string): boolean {
  const q = target.indexOf('?');
  return (q < 0 ? target : target.slice(0, q)).includes(';');
}

export class PayloadTooLargeFault extends GatehouseFault {
  constructor(limit: number) {
    super('gatehouse.PayloadTooLarge', `Request body exceeds ${limit} bytes`);
  }
}

export class ResponseTooLargeFault extends GatehouseFault {
  constructor(limit: number) {
    super('gatehouse.ResponseTooLarge', `Response body exceeds ${limit} bytes`);
  }
}

export class RequestHeadersTooLargeFault extends GatehouseFault {
  constructor(problem: string) {
    super('gatehouse.RequestHeadersTooLarge', `Request header fields too large: ${problem}`);
  }
}

export class ResponseHeadersTooLargeFault extends GatehouseFault {
  constructor(problem: string) {
    super('gatehouse.ResponseHeadersTooLarge', `Response header fields too large: ${problem}`);
  }
}

export class BodyBufferFullFault extends GatehouseFault {
  constructor() {
    super('gatehouse.BodyBufferFull', 'The gateway is holding too many bodies; try again', RETRY);
  }
}

export class WorkQueueFullFault extends GatehouseFault {
  constructor() {
    super('gatehouse.WorkQueueFull', 'The gateway is busy checking other large bodies; try again', RETRY);
  }
}

export class WorkBudgetExceededFault extends GatehouseFault {
  constructor(budgetMs: number) {
    super('gatehouse.WorkBudgetExceeded', `Checking this message took longer than ${budgetMs} ms`);
  }
}

/** Ends a flow whose stream is gone quietly (no "policy step failed" log); nothing is sent. */
export class CancelledFault extends GatehouseFault {
  constructor() {
    super('gatehouse.Cancelled', 'The stream ended before its policy work ran');
  }
}

export class InternalErrorFault extends GatehouseFault {
  constructor() {
    super('gatehouse.InternalError', 'Internal error');
  }
}
