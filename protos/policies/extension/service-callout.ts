// ServiceCallout: calls another HTTP(S) service from the flow and keeps its response in a message
// variable (docs/policies.md#servicecallout). The request is a message variable, or a new one, shaped
// by AssignMessage's operations (remove, copy, add, set, assignVariable); TLS material comes from
// Secrets; no Response element means fire and forget. Where the callout may connect is the DataPlane's
// call (spec.upstream.allowLinkLocalTargets, spec.upstream.calloutPrivateNetworks), checked by extproc
// on the address the URL's name resolves to (extproc/src/egress/).
import { readsBodyVariable } from '../expressions.ts';
import type { PolicyTypeSpec } from '../index.ts';
import {
  assignMessageNeedsBody,
  messageVariableName,
  operationProblems,
  operationSchemas,
  operationsExclusiveRule,
  operationsListSchema,
  type OperationsConfig,
} from '../mediation/assign-message.ts';
import { refOrSecret, secretRefOf, type ConfigProblem, type RefOrSecret } from '../schema.ts';
import { templateFieldProblems } from '../templates.ts';

export interface ServiceCalloutRequest extends OperationsConfig {
  /** The request message variable: used when it holds a request, made (empty GET) when unset. */
  variable?: string;
  /** true: the request's body is dropped once sent. */
  clearPayload?: boolean;
  /** false: a template's unresolved variable is a fault; true (default here): "". */
  ignoreUnresolvedVariables?: boolean;
}

export interface ServiceCalloutSsl {
  /** Apigee's Enabled: https URLs use TLS whatever it says; false with an https URL is refused. */
  enabled?: boolean;
  clientAuthEnabled?: boolean;
  /** The client certificate chain and key (PEM), with clientAuthEnabled. Apigee: <KeyStore>. */
  keyStore?: { certificate: RefOrSecret<string>; key: RefOrSecret<string> };
  /** CA bundle (PEM) trusted instead of Node's roots. Apigee: <TrustStore>. */
  trustStore?: RefOrSecret<string>;
  /** true: the server's certificate is not checked. Apigee: <IgnoreValidationErrors>. */
  ignoreValidationErrors?: boolean;
}

export interface ServiceCalloutConfig {
  request?: ServiceCalloutRequest;
  /** The variable that receives the response message; absent: fire and forget. */
  response?: string;
  /** Milliseconds for the whole callout; default 1000. */
  timeout?: number;
  httpTargetConnection: {
    /** http(s) URL, a template. */
    url: string;
    sslInfo?: ServiceCalloutSsl;
    /** Apigee's success.codes property: "1xx,2xx,3xx" (default), with codes or classes added. */
    successCodes?: string;
    /** Connect and TLS handshake alone, milliseconds; default the smaller of timeout and 3000. */
    connectTimeout?: number;
    /** The response body cap, bytes; default 1 MiB. */
    maxResponseBytes?: number;
  };
}

export const DEFAULT_CALLOUT_TIMEOUT_MS = 1_000;
export const DEFAULT_SUCCESS_CODES = '1xx,2xx,3xx';

const pem = (description: string) => refOrSecret({ type: 'string', maxLength: 65_536, description });

export const serviceCallout: PolicyTypeSpec = {
  type: 'ServiceCallout',
  member: 'serviceCallout',
  group: 'extension',
  schema: {
    type: 'object',
    description:
      "ServiceCallout: sends an HTTP(S) request built from a message (or a new one) and keeps the response in a message variable; without response, fire and forget. Where it may connect is the DataPlane's call (docs/policies.md#servicecallout). Apigee: <ServiceCallout>.",
    required: ['httpTargetConnection'],
    properties: {
      request: {
        type: 'object',
        description:
          'The request sent, and how it is shaped: the remove, copy, add, set and assignVariable operations of AssignMessage, run on it in that order (or as operations lists them). Apigee: <Request>.',
        properties: {
          variable: {
            ...messageVariableName,
            description:
              'The message variable sent: a request message (an AssignMessage createNew made it, or request); unset, a new empty GET request of that name is made. Absent: a new unnamed request. Apigee: the variable attribute.',
          },
          clearPayload: {
            type: 'boolean',
            description: 'true: the request body is dropped once sent. Apigee: the clearPayload attribute.',
          },
          ignoreUnresolvedVariables: {
            type: 'boolean',
            description:
              'true (default here): a template variable that does not resolve expands to ""; false: steps.servicecallout.ExecutionFailed (500). Apigee: <IgnoreUnresolvedVariables>.',
          },
          ...operationSchemas,
          operations: operationsListSchema,
        },
        'x-kubernetes-validations': [operationsExclusiveRule],
      },
      response: {
        ...messageVariableName,
        description:
          'The variable that receives the response ({name}.status.code, {name}.header.X, {name}.content); absent: fire and forget (the flow goes on at once, failures are only logged). Apigee: <Response>.',
      },
      timeout: {
        type: 'integer',
        minimum: 1,
        maximum: 60_000,
        description:
          "Milliseconds for the whole callout (connect, TLS, request, response), default 1000; then steps.servicecallout.ExecutionFailed. A callout in a flow holds Envoy's ext_proc message: keep it below the DataPlane's messageTimeout. Apigee: <Timeout>.",
      },
      httpTargetConnection: {
        type: 'object',
        required: ['url'],
        description: 'Where the request goes. Apigee: <HTTPTargetConnection>.',
        properties: {
          url: {
            type: 'string',
            minLength: 1,
            maxLength: 4096,
            pattern: '^https?://',
            description:
              "The http:// or https:// URL, a template ({variable} expands to its text, not URL-escaped); the request message's query parameters are appended, and its path when set. Apigee: <URL>.",
          },
          sslInfo: {
            type: 'object',
            description: 'TLS for https URLs. Apigee: <SSLInfo>.',
            properties: {
              enabled: {
                type: 'boolean',
                description: 'Apigee: <Enabled>. An https URL uses TLS; false with an https URL is refused.',
              },
              clientAuthEnabled: {
                type: 'boolean',
                description: "true: present keyStore's certificate (mTLS). Apigee: <ClientAuthEnabled>.",
              },
              keyStore: {
                type: 'object',
                required: ['certificate', 'key'],
                description:
                  "The client certificate and key, from a Secret (a kubernetes.io/tls Secret's tls.crt and tls.key). Apigee: <KeyStore> and <KeyAlias>.",
                properties: {
                  certificate: pem('The client certificate chain, PEM.'),
                  key: pem('The private key, PEM; only {secretRef} (a key never stands in a config).'),
                },
              },
              trustStore: pem(
                "CA certificates (PEM) trusted for the server, instead of Node's roots (e.g. a Secret's ca.crt). Apigee: <TrustStore>.",
              ),
              ignoreValidationErrors: {
                type: 'boolean',
                description:
                  "true: the server's certificate is not checked (expired, other name, unknown CA). Apigee: <IgnoreValidationErrors>.",
              },
            },
          },
          successCodes: {
            type: 'string',
            maxLength: 256,
            pattern: '^\\s*([1-5]xx|[1-5][0-9][0-9])(\\s*,\\s*([1-5]xx|[1-5][0-9][0-9]))*\\s*$',
            description:
              'Statuses that are not a failure, as Apigee\'s success.codes property: classes (2xx) and codes, comma-separated; default 1xx,2xx,3xx. Any other status is steps.servicecallout.ExecutionFailed, with the response kept. Apigee: <Properties><Property name="success.codes">.',
          },
          connectTimeout: {
            type: 'integer',
            minimum: 1,
            maximum: 60_000,
            description:
              'Milliseconds to connect and finish the TLS handshake; default the smaller of timeout and 3000. Apigee: the connect.timeout.millis property.',
          },
          maxResponseBytes: {
            type: 'integer',
            minimum: 1,
            maximum: 16_777_216,
            description:
              'The response body cap in bytes (default 1 MiB, at most 16 MiB); a larger one is steps.servicecallout.ExecutionFailed.',
          },
        },
      },
    },
  },
  needsBody: (config, phase) => {
    const c = config as ServiceCalloutConfig;
    const request = c.request ?? {};
    return (
      assignMessageNeedsBody({ ...request, assignTo: request.variable ?? 'servicecallout' }, phase) ||
      (request.variable ?? '') === phase ||
      readsBodyVariable(phase, { names: [], templates: [c.httpTargetConnection.url] })
    );
  },
  validate: (config) => validateServiceCallout(config as ServiceCalloutConfig),
};

/** Whether a status is a success under a success.codes list ("1xx,2xx,3xx,404"). */
export function isSuccessCode(status: number, codes: string = DEFAULT_SUCCESS_CODES): boolean {
  return codes.split(',').some((raw) => {
    const code = raw.trim();
    return code.endsWith('xx') ? Math.floor(status / 100) === Number(code[0]) : Number(code) === status;
  });
}

function validateServiceCallout(config: ServiceCalloutConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const request = config.request;
  if (request) {
    if (request.variable === 'response')
      problems.push({ path: 'request.variable', message: 'the response is not a request message' });
    problems.push(...operationProblems(request).map((p) => ({ ...p, path: `request.${p.path}` })));
  }
  if (config.response === 'request')
    problems.push({ path: 'response', message: 'the callout response cannot replace the request' });
  const target = config.httpTargetConnection;
  problems.push(...templateFieldProblems([{ path: 'httpTargetConnection.url', template: target.url }]));
  const ssl = target.sslInfo;
  const https = /^https:/i.test(target.url);
  if (ssl && !https)
    problems.push({ path: 'httpTargetConnection.sslInfo', message: 'sslInfo applies to https:// URLs only' });
  if (ssl?.enabled === false && https)
    problems.push({ path: 'httpTargetConnection.sslInfo.enabled', message: 'false with an https:// URL' });
  if (ssl?.clientAuthEnabled && !ssl.keyStore)
    problems.push({ path: 'httpTargetConnection.sslInfo.keyStore', message: 'clientAuthEnabled needs a keyStore' });
  if (ssl?.keyStore && !secretRefOf(ssl.keyStore.key))
    problems.push({
      path: 'httpTargetConnection.sslInfo.keyStore.key',
      message:
        'a private key comes from a Secret only ({secretRef: {name, key}}): a literal or variable would stand in the snapshot or flow in clear',
    });
  if (ssl?.keyStore && !ssl.clientAuthEnabled)
    problems.push({
      path: 'httpTargetConnection.sslInfo.clientAuthEnabled',
      message: 'a keyStore is presented only with clientAuthEnabled: true',
    });
  return problems;
}
