// ServiceCallout (docs/policies.md#servicecallout): builds a request message with AssignMessage's
// operations, sends it through the egress client (extproc/src/egress/: pools, timeouts, size cap, the
// DataPlane's address rules at connect time) and keeps the response in a message variable. Without a
// response variable it is fire and forget: the flow goes on at once and a failure is only logged.
// Faults are Apigee's: steps.servicecallout.ExecutionFailed (500) for every failed call and every
// status outside success.codes, RequestVariableNotMessageType, RequestVariableNotRequestMessageType.
import { orderedOperations } from '../../../../protos/policies/mediation/assign-message.ts';
import {
  calloutUsesTls,
  DEFAULT_CALLOUT_TIMEOUT_MS,
  isSuccessCode,
  pathProblem,
  serviceCallout,
  type ServiceCalloutConfig,
} from '../../../../protos/policies/extension/service-callout.ts';
import { secretRefOf, type RefOrSecret } from '../../../../protos/policies/schema.ts';
import { EgressError } from '../../egress/errors.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { createRequestMessage, createResponseMessage } from '../../flow/message.ts';
import { expandTemplate } from '../../flow/templates.ts';
import type {
  EgressOptions,
  EgressRequest,
  EgressTls,
  PolicyContext,
  PolicyImplementation,
  PolicyMeta,
  RequestMessage,
} from '../../flow/types.ts';
import {
  applyOperations,
  compileOperations,
  strictVariables,
  type OperationFaults,
  type OperationRun,
} from '../mediation/assign-message.ts';
import { checkConfig, isRequest } from '../support.ts';

const EXECUTION_FAILED = 'steps.servicecallout.ExecutionFailed';

function fault(errorCode: string, faultString: string): PolicyFault {
  return new PolicyFault({ status: 500, errorCode, faultString });
}

/** Apigee's faultstring for a failed call: the reason says what failed, never where (no address leaks to clients). */
function executionFailed(meta: PolicyMeta, reason: string): PolicyFault {
  return fault(EXECUTION_FAILED, `Execution of ServiceCallout ${meta.name} failed. Reason: ${reason}`);
}

/** What a client may read of an egress failure; the details (origin, code) go to the log. */
const CLIENT_REASON: Record<EgressError['reason'], string> = {
  refused: 'the target address is not allowed',
  timeout: 'timeout occurred',
  tls: 'the TLS handshake failed',
  connect: 'the connection failed',
  'too-large': 'the response is too large',
  'invalid-url': 'the URL is not valid',
};

/** The request message sent: the one `variable` names, a new one of that name, or a new unnamed one. */
function calloutRequest(ctx: PolicyContext, meta: PolicyMeta, variable: string | undefined): RequestMessage {
  const made = () => createRequestMessage({ method: 'GET', path: '/', headers: {}, body: Buffer.alloc(0) });
  if (variable === undefined) return made();
  const existing = ctx.variables.message(variable);
  if (existing) {
    if (isRequest(existing)) return existing;
    throw fault(
      'steps.servicecallout.RequestVariableNotRequestMessageType',
      `ServiceCallout[${meta.name}]: request variable ${variable} value is not of type Request Message`,
    );
  }
  if (ctx.variables.holdsNonMessage(variable))
    throw fault(
      'steps.servicecallout.RequestVariableNotMessageType',
      `ServiceCallout[${meta.name}]: request variable ${variable} value is not of type Message`,
    );
  const message = made();
  ctx.variables.set(variable, message);
  return message;
}

/** A PEM value: literal, from a variable, or from a Secret (the snapshot's policy_secrets). */
function pemValue(ctx: PolicyContext, meta: PolicyMeta, value: RefOrSecret<string> | undefined, what: string) {
  if (value === undefined) return undefined;
  const secret = secretRefOf(value);
  const text = secret ? ctx.runtime.policySecret(meta.namespace, secret) : ctx.variables.resolve(value as never);
  if (typeof text !== 'string' || text === '') throw executionFailed(meta, `the ${what} is not available`);
  return text;
}

function tlsOf(ctx: PolicyContext, meta: PolicyMeta, config: ServiceCalloutConfig): EgressTls {
  const ssl = config.httpTargetConnection.sslInfo;
  const tls: EgressTls = { verify: ssl?.ignoreValidationErrors !== true };
  const ca = pemValue(ctx, meta, ssl?.trustStore, 'trust store');
  if (ca !== undefined) tls.ca = ca;
  if (ssl?.clientAuthEnabled && ssl.keyStore) {
    tls.cert = pemValue(ctx, meta, ssl.keyStore.certificate, 'client certificate');
    tls.key = pemValue(ctx, meta, ssl.keyStore.key, 'client key');
  }
  return tls;
}

/** Where the callout goes: a URL template, or a Service's origin and a path template. */
type CalloutTarget =
  | { url: string; service?: undefined; path?: undefined }
  | { url?: undefined; service: { origin: string; host: string }; path: string | undefined };

/** The Service's in-cluster name in the policy's namespace (docs/policies.md#servicecallout). */
function calloutTarget(config: ServiceCalloutConfig, meta: PolicyMeta): CalloutTarget {
  const { service, url, path } = config.httpTargetConnection;
  if (!service) return { url: url! };
  const host = `${service.name}.${meta.namespace}.svc`;
  // Through URL, as the request's URL will be: an origin with its scheme's default port drops it.
  const origin = new URL(`${service.scheme ?? 'http'}://${host}:${service.port}`).origin;
  return { service: { host, origin }, path };
}

/** The URL template expanded, with the request message's path (when set) and query appended. */
function targetUrl(run: OperationRun, meta: PolicyMeta, target: CalloutTarget, message: RequestMessage): URL {
  let url: URL;
  try {
    if (target.service) {
      const path = target.path === undefined ? '/' : expandTemplate(target.path, run.vars);
      if (pathProblem(path) !== undefined) throw executionFailed(meta, 'the URL is not valid');
      url = new URL(`${target.service.origin}${path}`);
      // The path cannot move the request elsewhere: the host stays the Service's.
      if (url.origin !== target.service.origin) throw executionFailed(meta, 'the URL is not valid');
    } else url = new URL(expandTemplate(target.url, run.vars));
  } catch (err) {
    if (err instanceof PolicyFault) throw err;
    throw executionFailed(meta, 'the URL is not valid');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw executionFailed(meta, 'the URL is not valid');
  if (message.path !== '/' && message.path !== '') url.pathname = `${url.pathname.replace(/\/$/, '')}${message.path}`;
  if (message.query !== '') url.search = url.search === '' ? message.query : `${url.search.slice(1)}&${message.query}`;
  return url;
}

export const serviceCalloutPolicy: PolicyImplementation<ServiceCalloutConfig> = {
  type: 'ServiceCallout',
  create(config, meta) {
    checkConfig(serviceCallout, config, meta);
    const request = config.request ?? {};
    const operations = compileOperations(orderedOperations(request));
    const strict = request.ignoreUnresolvedVariables === false;
    const faults: OperationFaults = {
      unresolved: (name) => executionFailed(meta, `unable to resolve variable ${name}`),
      notMessage: (name) =>
        fault(
          'steps.servicecallout.RequestVariableNotMessageType',
          `ServiceCallout[${meta.name}]: variable ${name} value is not of type Message`,
        ),
    };
    const target = config.httpTargetConnection;
    const timeoutMs = config.timeout ?? DEFAULT_CALLOUT_TIMEOUT_MS;
    const https = calloutUsesTls(target);
    const where = calloutTarget(config, meta);

    return async (ctx) => {
      const run: OperationRun = { ctx, faults, vars: strict ? strictVariables(ctx, faults) : ctx.variables };
      const message = calloutRequest(ctx, meta, request.variable);
      applyOperations(run, message, operations);
      const url = targetUrl(run, meta, where, message);
      ctx.variables.set(`servicecallout.${meta.name}.target.url`, url.toString());
      ctx.variables.set('servicecallout.requesturi', `${url.pathname}${url.search}`);
      const outbound: EgressRequest = {
        url: url.toString(),
        method: message.method,
        headers: message.headers.entries().flatMap(([name, values]) => values.map((v) => [name, v] as const)),
        ...(message.body.available && message.body.size > 0 ? { body: message.body.bytes() } : {}),
      };
      const options: EgressOptions = {
        timeoutMs,
        ...(target.connectTimeout !== undefined ? { connectTimeoutMs: target.connectTimeout } : {}),
        ...(target.maxResponseBytes !== undefined ? { maxResponseBytes: target.maxResponseBytes } : {}),
        ...(https ? { tls: tlsOf(ctx, meta, config) } : {}),
        rules: ctx.runtime.egressRules,
        ...(where.service ? { allowPrivateFor: where.service.host } : {}),
      };
      const sent = ctx.egress.send(outbound, options);
      if (request.clearPayload) message.body.setText('');

      if (config.response === undefined) {
        // Fire and forget: nobody waits; a failure is logged (without the request) and the flow goes on.
        sent.catch((err: unknown) =>
          ctx.log.warn(
            { code: (err as { code?: string }).code, err: (err as Error).message },
            'fire-and-forget ServiceCallout failed',
          ),
        );
        return undefined;
      }
      let answer;
      try {
        answer = await sent;
      } catch (err) {
        if (!(err instanceof EgressError)) throw err;
        ctx.log.warn({ code: err.code, err: err.message }, 'ServiceCallout failed');
        throw executionFailed(meta, CLIENT_REASON[err.reason]);
      }
      const response = createResponseMessage({ status: answer.status, headers: answer.headers, body: answer.body });
      if (answer.reasonPhrase !== '') response.reasonPhrase = answer.reasonPhrase;
      ctx.variables.set(config.response, response);
      // Apigee keeps the response for fault rules to read, then fails on a status outside success.codes.
      if (!isSuccessCode(answer.status, target.successCodes))
        throw executionFailed(meta, `ResponseCode ${answer.status} is treated as error`);
      return undefined;
    };
  },
};
