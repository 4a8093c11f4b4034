// ServiceCallout: calls another HTTP(S) service from the flow and keeps its response in a message
// variable (docs/policies.md#servicecallout). The request is a message variable, or a new one, shaped
// by AssignMessage's operations (remove, copy, add, set, assignVariable); TLS material comes from
// Secrets; no Response element means fire and forget. Where the callout may connect is the DataPlane's
// call (spec.upstream.allowLinkLocalTargets, spec.upstream.calloutPrivateNetworks), checked by extproc
// on the address the URL's name resolves to (extproc/src/egress/). A target Service (Apigee's
// LoadBalancer Server, a TargetServer) is the operator's choice, not request data: its private address
// is allowed for its name alone.
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
    /** http(s) URL, a template; exactly one of url and service. */
    url?: string;
    /** A Service of the policy's namespace, reached at name.namespace.svc:port. Apigee: <LoadBalancer>. */
    service?: ServiceCalloutService;
    /** With service: the path, a template ("/v1/{id}"). Apigee: <Path>. */
    path?: string;
    sslInfo?: ServiceCalloutSsl;
    /** Apigee's success.codes property: "1xx,2xx,3xx" (default), with codes or classes added. */
    successCodes?: string;
    /** Connect and TLS handshake alone, milliseconds; default the smaller of timeout and 3000. */
    connectTimeout?: number;
    /** The response body cap, bytes; default 1 MiB. */
    maxResponseBytes?: number;
  };
}

export interface ServiceCalloutService {
  name: string;
  port: number;
  /** Default http. */
  scheme?: 'http' | 'https';
}

/** A DNS-1035 label: a Service name, which cannot name another namespace. */
const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Whether the callout speaks TLS: an https URL or a Service with scheme https. */
export function calloutUsesTls(target: ServiceCalloutConfig['httpTargetConnection']): boolean {
  return target.service ? target.service.scheme === 'https' : /^https:/i.test(target.url ?? '');
}

/**
 * Why an expanded (or literal) path is not a plain path, or undefined: it must start with one "/" and
 * hold no "\\", "@", "//" or scheme, so a template cannot name another host than the Service's.
 */
export function pathProblem(path: string): string | undefined {
  if (!path.startsWith('/')) return 'it must start with "/"';
  if (path.includes('//')) return 'it must not contain "//"';
  if (/[@\\]/.test(path)) return 'it must not contain "@" or "\\"';
  if (/^[a-z][a-z0-9+.-]*:/i.test(path.slice(1))) return 'it must not name a scheme';
  if ([...path].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    return 'it must not contain control characters';
  return undefined;
}

export const DEFAULT_CALLOUT_TIMEOUT_MS = 1_000;
export const DEFAULT_SUCCESS_CODES = '1xx,2xx,3xx';

/** PEM text: a literal, a ref or a {secretRef}. */
export const pem = (description: string) => refOrSecret({ type: 'string', maxLength: 65_536, description });

/** <SSLInfo>'s client certificate (mTLS), as ServiceCallout and MessageLogging take it. */
export const sslClientCertificate = {
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
} as const;

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
        description:
          'Where the request goes: exactly one of url and service (with an optional path). Apigee: <HTTPTargetConnection>.',
        'x-kubernetes-validations': [
          { rule: 'has(self.url) != has(self.service)', message: 'exactly one of url and service' },
        ],
        properties: {
          service: {
            type: 'object',
            required: ['name', 'port'],
            description:
              "A Service of the policy's namespace, called at name.namespace.svc:port. The operator names it, so its private (ClusterIP) address is allowed without spec.upstream.calloutPrivateNetworks, for that name only; link-local and metadata addresses stay refused. Apigee: <LoadBalancer><Server name> (a TargetServer).",
            properties: {
              name: {
                type: 'string',
                minLength: 1,
                maxLength: 63,
                description: "The Service's name, in the policy's namespace (another namespace's is refused).",
              },
              port: { type: 'integer', minimum: 1, maximum: 65_535, description: "The Service's port." },
              scheme: {
                type: 'string',
                enum: ['http', 'https'],
                description: 'http (default) or https (then sslInfo applies).',
              },
            },
          },
          path: {
            type: 'string',
            minLength: 1,
            maxLength: 4096,
            description:
              'With service: the request path, a template ({variable} expands to its text); it must stay a path (starts with "/", no "//", "@", "\\" or scheme, checked again once expanded). Apigee: <Path>.',
          },
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
              ...sslClientCertificate,
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
      readsBodyVariable(phase, {
        names: [],
        templates: [c.httpTargetConnection.url ?? '', c.httpTargetConnection.path ?? ''],
      })
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
  problems.push(...targetProblems(target));
  const ssl = target.sslInfo;
  const https = calloutUsesTls(target);
  if (ssl && !https)
    problems.push({
      path: 'httpTargetConnection.sslInfo',
      message: 'sslInfo applies to https:// URLs and https services only',
    });
  if (ssl?.enabled === false && https)
    problems.push({ path: 'httpTargetConnection.sslInfo.enabled', message: 'false with an https target' });
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

function targetProblems(target: ServiceCalloutConfig['httpTargetConnection']): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if ((target.url === undefined) === (target.service === undefined))
    return [{ path: 'httpTargetConnection', message: 'exactly one of url and service' }];
  if (target.url !== undefined) {
    if (target.path !== undefined)
      problems.push({ path: 'httpTargetConnection.path', message: 'path goes with service; a url holds its path' });
    problems.push(...templateFieldProblems([{ path: 'httpTargetConnection.url', template: target.url }]));
    return problems;
  }
  const name = target.service!.name;
  if (name.includes('.'))
    problems.push({
      path: 'httpTargetConnection.service.name',
      message: `"${name}" names another namespace or a host: a callout reaches Services of its own namespace only`,
    });
  else if (!SERVICE_NAME.test(name))
    problems.push({ path: 'httpTargetConnection.service.name', message: `"${name}" is not a Service name` });
  if (target.path !== undefined) {
    // A literal path is judged as it stands; a template's variables are judged again once expanded.
    const literal = target.path.replace(/\{[^{}]*\}/g, 'x');
    const why = pathProblem(literal);
    if (why) problems.push({ path: 'httpTargetConnection.path', message: why });
    problems.push(...templateFieldProblems([{ path: 'httpTargetConnection.path', template: target.path }]));
  }
  return problems;
}
