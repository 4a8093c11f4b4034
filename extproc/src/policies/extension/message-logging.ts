// MessageLogging (docs/policies.md#messagelogging): expands the message template, frames it (RFC 5424
// when formatMessage) and hands it to the PolicyContext's message log senders
// (extproc/src/egress/message-log.ts), which deliver in the background. The step never waits for the
// target: a syslog server that is down, stalled or resetting costs a dropped, counted message, never
// a slower response. It fails only when its own configuration cannot be honoured at run time (a TLS
// Secret missing from the snapshot): steps.messagelogging.StepDefinitionExecutionFailed (500).
import { hostname } from 'node:os';
import {
  DEFAULT_HTTP_LOG_TIMEOUT_MS,
  DEFAULT_SYSLOG_PORT,
  MAX_LOG_MESSAGE_BYTES,
  messageLogging,
  messageLoggingTarget,
  SYSLOG_SEVERITY,
  syslogUsesTls,
  type MessageLoggingConfig,
  type MessageLoggingSyslog,
} from '../../../../protos/policies/extension/message-logging.ts';
import { secretRefOf, type RefOrSecret } from '../../../../protos/policies/schema.ts';
import { compileTimeFormat, type TimeFormatter } from '../../../../protos/policies/time-format.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { compileTemplate } from '../../flow/templates.ts';
import type { EgressTls, MessageLogTarget, PolicyContext, PolicyImplementation, PolicyMeta } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';

const EXECUTION_FAILED = 'steps.messagelogging.StepDefinitionExecutionFailed';

function executionFailed(meta: PolicyMeta, reason: string): PolicyFault {
  return new PolicyFault({
    status: 500,
    errorCode: EXECUTION_FAILED,
    faultString: `Execution of MessageLogging ${meta.name} failed. Reason: ${reason}`,
  });
}

/** RFC 5424 HOSTNAME: printable US-ASCII without spaces, at most 255; "-" when there is none. */
export function syslogHostname(name: string): string {
  const clean = name.replace(/[^\x21-\x7e]/g, '').slice(0, 255);
  return clean === '' ? '-' : clean;
}

const HOSTNAME = syslogHostname(hostname());
export const SYSLOG_APP_NAME = 'gatehouse';
/** Facility 1 (user-level messages), as Apigee's <14> (user.info) shows. */
const FACILITY = 1;

export interface SyslogHeader {
  severity: number;
  timestamp: string;
  hostname?: string;
}

/**
 * An RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG`, PRI =
 * facility * 8 + severity; PROCID, MSGID and STRUCTURED-DATA are the nil value "-". The message is
 * UTF-8 without a BOM (RFC 5424 6.4 allows either).
 */
export function formatSyslog(message: string, header: SyslogHeader): string {
  const pri = FACILITY * 8 + header.severity;
  const timestamp = header.timestamp.replace(/\s/g, '') || '-';
  return `<${pri}>1 ${timestamp} ${header.hostname ?? HOSTNAME} ${SYSLOG_APP_NAME} - - - ${message}`;
}

/** The message cut to at most maxBytes of UTF-8, never inside a character. */
export function cutUtf8(text: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return bytes;
  let end = maxBytes;
  // Back off continuation bytes (10xxxxxx) so the cut falls on a character boundary.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/** A PEM or header value: literal, from a variable, or from a Secret (the snapshot's policy_secrets). */
function valueOf(ctx: PolicyContext, meta: PolicyMeta, value: RefOrSecret<string>, what: string): string {
  const secret = secretRefOf(value);
  const text = secret ? ctx.runtime.policySecret(meta.namespace, secret) : ctx.variables.resolve(value as never);
  if (typeof text !== 'string' || text === '') throw executionFailed(meta, `the ${what} is not available`);
  return text;
}

function syslogTls(ctx: PolicyContext, meta: PolicyMeta, syslog: MessageLoggingSyslog): EgressTls {
  const ssl = syslog.sslInfo!;
  const tls: EgressTls = { verify: true };
  if (ssl.trustStore !== undefined) tls.ca = valueOf(ctx, meta, ssl.trustStore, 'trust store');
  if (ssl.clientAuthEnabled && ssl.keyStore) {
    tls.cert = valueOf(ctx, meta, ssl.keyStore.certificate, 'client certificate');
    tls.key = valueOf(ctx, meta, ssl.keyStore.key, 'client key');
  }
  return tls;
}

export const messageLoggingPolicy: PolicyImplementation<MessageLoggingConfig> = {
  type: 'MessageLogging',
  create(config, meta) {
    checkConfig(messageLogging, config, meta);
    const kind = messageLoggingTarget(config);
    const template = compileTemplate(config.syslog?.message ?? config.http?.message ?? config.stdout!.message);
    const severity = SYSLOG_SEVERITY[config.logLevel ?? 'INFO'];
    const syslog = config.syslog;
    const dateFormat: TimeFormatter | undefined =
      syslog?.dateFormat !== undefined ? compileTimeFormat(syslog.dateFormat) : undefined;

    const targetOf = (ctx: PolicyContext): MessageLogTarget => {
      if (syslog) {
        const port = syslog.port ?? DEFAULT_SYSLOG_PORT;
        if (syslogUsesTls(syslog)) return { kind: 'tls', host: syslog.host, port, tls: syslogTls(ctx, meta, syslog) };
        return { kind: syslog.protocol === 'TCP' ? 'tcp' : 'udp', host: syslog.host, port };
      }
      const http = config.http;
      if (http) {
        const headers: Array<readonly [string, string]> = [['content-type', http.contentType ?? 'text/plain']];
        for (const h of http.headers ?? []) headers.push([h.name, valueOf(ctx, meta, h.value, `header ${h.name}`)]);
        return {
          kind: 'http',
          url: http.url,
          method: http.method ?? 'POST',
          headers,
          timeoutMs: http.timeout ?? DEFAULT_HTTP_LOG_TIMEOUT_MS,
        };
      }
      return { kind: 'stdout' };
    };

    return (ctx) => {
      const target = targetOf(ctx);
      let text = template.render(ctx.variables);
      if (syslog?.formatMessage) {
        const now = ctx.now();
        const timestamp = dateFormat ? (dateFormat.format(now) ?? '-') : new Date(now).toISOString();
        text = formatSyslog(text, { severity, timestamp });
      }
      const outcome = ctx.messageLogs.send(
        meta.namespace,
        target,
        cutUtf8(text, MAX_LOG_MESSAGE_BYTES),
        ctx.runtime.egressRules,
      );
      if (outcome === 'dropped') ctx.log.debug({ target: kind }, 'MessageLogging message dropped at enqueue');
      return undefined;
    };
  },
};
