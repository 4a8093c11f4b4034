// DebugSession (docs/operations.md#debug-sessions): Apigee's debug session (trace) as an object of a
// namespace. The operator puts an active session into the runtime snapshot of the DataPlanes serving
// its proxy; extproc captures the matching transactions, masks them and reports them back; the
// operator keeps the first `count` as Secrets owned by the session. The mask's members are Apigee's
// debug mask (<Mask>: Namespaces, Request/Response/FaultXPaths, Request/Response/FaultJSONPaths,
// Variables), as a DataPlane's environment-level spec.debugMask and per session.
import { condition, objectName } from './common.ts';
import { array, boolean, duration, enumOf, integer, map, object, optional, string, type Infer } from './schema.ts';

const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration the schema accepted ("90s", "1h30m") in milliseconds (compile/durations.ts's, which api may not import). */
export function durationMs(text: string): number {
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g))
    total += Number(amount) * unitMs[unit as keyof typeof unitMs];
  return Math.round(total);
}

/** Apigee's limits for a debug session (docs/operations.md#debug-sessions). */
export const debugSessionLimits = {
  /** Transactions captured: Apigee's count, default 10, at most 15. */
  defaultCount: 10,
  maxCount: 15,
  /** How long it captures: Apigee's timeout, default 600 s (10 minutes). */
  defaultTimeout: '10m',
  maxTimeoutMs: 3_600_000,
  minTimeoutMs: 1_000,
  /** One captured transaction, serialized (bodies are cut first); a Secret holds it with room to spare. */
  maxTransactionBytes: 256 * 1024,
} as const;

const paths = (what: string) =>
  optional(
    array(string({ minLength: 1, maxLength: 1024, description: `A ${what}.` }), {
      maxItems: 64,
      description: `Replaced by ******** before the capture leaves extproc (at most 64).`,
    }),
  );

export const debugMask = object(
  {
    namespaces: optional(
      map(string({ maxLength: 1024, description: 'The namespace URI.' }), {
        description: 'Prefix to namespace URI, for the XPaths. Apigee: <Namespaces><Namespace prefix=...>.',
      }),
    ),
    requestXPaths: paths('XPath into an XML request body (Apigee: <RequestXPaths><XPath>)'),
    responseXPaths: paths('XPath into an XML response body (Apigee: <ResponseXPaths><XPath>)'),
    faultXPaths: paths('XPath into an XML fault body (Apigee: <FaultXPaths><XPath>)'),
    requestJSONPaths: paths('JSONPath into a JSON request body (Apigee: <RequestJSONPaths><JSONPath>)'),
    responseJSONPaths: paths('JSONPath into a JSON response body (Apigee: <ResponseJSONPaths><JSONPath>)'),
    faultJSONPaths: paths('JSONPath into a JSON fault body (Apigee: <FaultJSONPaths><JSONPath>)'),
    variables: paths('flow variable name (Apigee: <Variables><Variable>)'),
    headers: paths('header name, request and response, case-insensitive (a Gatehouse addition)'),
  },
  {
    description:
      'What is masked in captured transactions, besides credentials (always masked). Apigee: the debug mask (<Mask>).',
  },
);
export type DebugMaskSpec = Infer<typeof debugMask>;

export const debugSessionSpec = object(
  {
    proxyRef: object(
      {
        name: objectName('The ApiProxy whose transactions are captured.'),
        namespace: optional(
          objectName(
            "Only this DebugSession's own namespace (the default): a session never traces another namespace's proxy.",
          ),
        ),
      },
      { description: 'The ApiProxy of this namespace to trace. Apigee: the API proxy (revision) of the session.' },
    ),
    filter: optional(
      string({
        minLength: 1,
        maxLength: 4096,
        description:
          'Which transactions are captured: an Apigee condition over the request (request.header.X = "y" and request.verb = "POST"), the syntax of flow conditions. Default every transaction. Apigee: the filter.',
      }),
    ),
    count: optional(
      integer({
        minimum: 1,
        maximum: debugSessionLimits.maxCount,
        default: debugSessionLimits.defaultCount,
        description:
          'How many transactions to capture, 1 to 15 (default 10); the session completes then. Apigee: count.',
      }),
    ),
    timeout: optional(
      duration({
        default: debugSessionLimits.defaultTimeout,
        description:
          'How long the session captures from its creation, 1s to 1h (default 10m, as Apigee); it expires then. Apigee: timeout.',
      }),
    ),
    stopped: optional(
      boolean({
        default: false,
        description: 'true ends the session now (gatehouse trace stop); what it captured stays.',
      }),
    ),
    mask: optional(debugMask),
  },
  {
    description: 'A debug session: the proxy, the filter, how many transactions and for how long.',
    rules: [
      {
        rule: "!has(self.timeout) || (duration(self.timeout) >= duration('1s') && duration(self.timeout) <= duration('1h'))",
        message: 'timeout must be between 1s and 1h',
        fieldPath: '.timeout',
        check: (s) =>
          s.timeout === undefined ||
          (durationMs(s.timeout) >= debugSessionLimits.minTimeoutMs &&
            durationMs(s.timeout) <= debugSessionLimits.maxTimeoutMs),
      },
      {
        rule: 'oldSelf.proxyRef == self.proxyRef',
        message: 'proxyRef cannot change; start another session',
        fieldPath: '.proxyRef',
        check: () => true,
      },
    ],
  },
);
export type DebugSessionSpec = Infer<typeof debugSessionSpec>;

export const debugSessionPhases = ['Active', 'Completed', 'Expired', 'Stopped'] as const;
export type DebugSessionPhase = (typeof debugSessionPhases)[number];

export const debugSessionStatus = object(
  {
    observedGeneration: optional(
      integer({ minimum: 0, format: 'int64', description: 'metadata.generation this status was written for.' }),
    ),
    conditions: optional(
      array(condition, {
        maxItems: 8,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
        description:
          'Accepted (the spec is valid and names a proxy of this namespace) and Active (the data plane captures for it); docs/operations.md#status-conditions.',
      }),
    ),
    phase: optional(
      enumOf(debugSessionPhases, {
        description:
          'Active (capturing), Completed (count transactions captured), Expired (timeout passed) or Stopped (spec.stopped); absent while not accepted.',
      }),
    ),
    captured: optional(
      integer({ minimum: 0, description: 'Transactions captured and stored (Secrets labelled with this session).' }),
    ),
    startTime: optional(string({ format: 'date-time', description: 'When the session started (its creation).' })),
    expireTime: optional(string({ format: 'date-time', description: 'When it stops capturing at the latest.' })),
  },
  { description: 'What the operator made of this DebugSession, written by the operator.' },
);
export type DebugSessionStatus = Infer<typeof debugSessionStatus>;

/** The Secrets the operator stores captured transactions in (docs/operations.md#debug-sessions). */
export const debugCapture = {
  /** The Secret type: never a credential, never mounted; RBAC and audit can single these out. */
  secretType: 'gatehouse.dev/debug-capture',
  /** Label: the DebugSession's uid (label values cannot hold every object name). */
  sessionUidLabel: 'gatehouse.dev/debug-session-uid',
  /** Annotation: the DebugSession's name. */
  sessionAnnotation: 'gatehouse.dev/debug-session',
  /** Annotation: the transaction's capture slot, 1 to count (the Secret's name ends with it too). */
  slotAnnotation: 'gatehouse.dev/debug-slot',
  /** The key holding the transaction (DebugTransaction in the proto3 JSON mapping). */
  dataKey: 'transaction.json',
} as const;

/** The Secret of a session's capture slot: unique per session uid, so a recreated session starts empty. */
export function debugCaptureSecretName(session: string, uid: string, slot: number): string {
  return `${session.slice(0, 200)}-${uid.slice(0, 8)}-${slot}`;
}
