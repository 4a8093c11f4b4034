// MessageLogging (docs/policies.md#messagelogging): sends a templated message to syslog (UDP, TCP or
// TLS), to an HTTP endpoint (Gatehouse's own target) or to extproc's stdout (Apigee's <File>, which
// has no place in a pod). The step only enqueues: a background sender per namespace and target
// delivers, so the response is never delayed (extproc/src/egress/message-log.ts). Where a target may
// connect is the DataPlane's call, as for callouts (spec.upstream.allowLinkLocalTargets,
// calloutPrivateNetworks), checked by extproc on the addresses the host resolves to.
import type { PolicyTypeSpec } from '../index.ts';
import { readsBodyVariable } from '../expressions.ts';
import { refOrSecret, secretRefOf, type ConfigProblem, type JSONSchema, type RefOrSecret } from '../schema.ts';
import { refusedTargetClass } from '../target-address.ts';
import { templateFieldProblems, templateVariables } from '../templates.ts';
import { timeFormatProblem } from '../time-format.ts';
import { pem, sslClientCertificate } from './service-callout.ts';

export type MessageLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'ALERT';

export interface MessageLoggingSslInfo {
  /** Apigee's <Enabled>: true sends over TLS (TCP only). */
  enabled?: boolean;
  /** CA bundle (PEM) trusted instead of Node's roots. Apigee: <TrustStore>. */
  trustStore?: RefOrSecret<string>;
  clientAuthEnabled?: boolean;
  /** The client certificate and key (PEM), with clientAuthEnabled. Apigee: <KeyStore>. */
  keyStore?: { certificate: RefOrSecret<string>; key: RefOrSecret<string> };
  /** Refused when true: a log target's certificate is always checked. Apigee: <IgnoreValidationErrors>. */
  ignoreValidationErrors?: boolean;
}

export interface MessageLoggingSyslog {
  /** The message, a template. Apigee: <Message>. */
  message: string;
  host: string;
  /** Default 514. */
  port?: number;
  /** Default UDP. */
  protocol?: 'TCP' | 'UDP';
  /** true: an RFC 5424 header is put before the message. Apigee: <FormatMessage>. */
  formatMessage?: boolean;
  /** The header's timestamp as a Java SimpleDateFormat pattern (UTC); default RFC 3339. Apigee: <DateFormat>. */
  dateFormat?: string;
  sslInfo?: MessageLoggingSslInfo;
}

export interface MessageLoggingHttpHeader {
  name: string;
  /** A literal, a variable ({ref}) or a Secret's key ({secretRef}): a token belongs in a Secret. */
  value: RefOrSecret<string>;
}

export interface MessageLoggingHttp {
  message: string;
  url: string;
  /** Default POST. */
  method?: 'POST' | 'PUT';
  /** Default text/plain. */
  contentType?: string;
  headers?: MessageLoggingHttpHeader[];
  /** Milliseconds per attempt; default 5000. */
  timeout?: number;
}

export interface MessageLoggingConfig {
  syslog?: MessageLoggingSyslog;
  http?: MessageLoggingHttp;
  stdout?: { message: string };
  /** The syslog severity (and the stdout line's level). Default INFO. Apigee: <logLevel>. */
  logLevel?: MessageLogLevel;
  /** Accepted for Apigee bundles: every message is buffered (queued) already. Apigee: <BufferMessage>. */
  bufferMessage?: boolean;
}

export const DEFAULT_SYSLOG_PORT = 514;
export const DEFAULT_HTTP_LOG_TIMEOUT_MS = 5_000;
/** A message is cut to this many bytes once expanded. */
export const MAX_LOG_MESSAGE_BYTES = 65_536;

/** Syslog severities (RFC 5424 6.2.1) of each logLevel; the facility is user-level (1), as Apigee's. */
export const SYSLOG_SEVERITY: Record<MessageLogLevel, number> = { ALERT: 1, ERROR: 3, WARN: 4, INFO: 6, DEBUG: 7 };

/** The one target a config names. */
export function messageLoggingTarget(config: MessageLoggingConfig): 'syslog' | 'http' | 'stdout' {
  return config.syslog ? 'syslog' : config.http ? 'http' : 'stdout';
}

/** Whether syslog goes over TLS: sslInfo.enabled. */
export function syslogUsesTls(syslog: MessageLoggingSyslog): boolean {
  return syslog.sslInfo?.enabled === true;
}

const message = (description: string): JSONSchema => ({
  type: 'string',
  minLength: 1,
  maxLength: 65_536,
  description: `${description} A template: {variable} expands to its text (and {function(...)} to its result); at most 64 KiB once expanded. private.* variables are refused.`,
});

export const messageLogging: PolicyTypeSpec = {
  type: 'MessageLogging',
  member: 'messageLogging',
  group: 'extension',
  schema: {
    type: 'object',
    description:
      "MessageLogging: sends a templated message to syslog (UDP, TCP or TLS), an HTTP endpoint or extproc's stdout, in the background: the step never waits for the target and never fails on it. Usually attached in postClientFlow. Where it may connect is the DataPlane's call (docs/policies.md#messagelogging). Apigee: <MessageLogging>.",
    'x-kubernetes-validations': [
      {
        rule: '[has(self.syslog), has(self.http), has(self.stdout)].filter(x, x).size() == 1',
        message: 'exactly one of syslog, http and stdout',
      },
    ],
    properties: {
      syslog: {
        type: 'object',
        required: ['message', 'host'],
        description: 'Send to a syslog server. Apigee: <Syslog>.',
        properties: {
          message: message('The message. Apigee: <Message>.'),
          host: {
            type: 'string',
            minLength: 1,
            maxLength: 253,
            pattern: '^[A-Za-z0-9.:\\[\\]-]+$',
            description:
              "The syslog server: a DNS name or an IP address. Its addresses are checked at connect time against the DataPlane's rules (metadata and link-local refused; private ones outside spec.upstream.calloutPrivateNetworks refused). Apigee: <Host>.",
          },
          port: {
            type: 'integer',
            minimum: 1,
            maximum: 65_535,
            description: 'The port; default 514. Apigee: <Port>.',
          },
          protocol: {
            type: 'string',
            enum: ['TCP', 'UDP'],
            description:
              'UDP (default): one datagram per message (cut at 8 KiB). TCP: a connection kept open, each message framed by octet counting (RFC 6587 3.4.1); TLS needs TCP. Apigee: <Protocol>.',
          },
          formatMessage: {
            type: 'boolean',
            description:
              'true: an RFC 5424 header is put before the message (<PRI>1 TIMESTAMP HOSTNAME gatehouse - - -); false (default): the message is sent as it is. Apigee: <FormatMessage>.',
          },
          dateFormat: {
            type: 'string',
            minLength: 1,
            maxLength: 128,
            description:
              "With formatMessage: the header's timestamp as a Java SimpleDateFormat pattern, in UTC (a pattern other than RFC 3339 makes the header non-RFC 5424, as in Apigee); default RFC 3339 with milliseconds. Apigee: <DateFormat>.",
          },
          sslInfo: {
            type: 'object',
            description: 'TLS to the syslog server (TCP only). Apigee: <SSLInfo>.',
            properties: {
              enabled: { type: 'boolean', description: 'true: TLS. Apigee: <Enabled>.' },
              trustStore: pem(
                "CA certificates (PEM) trusted for the server instead of Node's roots (e.g. a Secret's ca.crt). Apigee: <TrustStore>.",
              ),
              ...sslClientCertificate,
              ignoreValidationErrors: {
                type: 'boolean',
                description:
                  "Only false: the server's certificate is always checked (a log stream carries request data). Apigee: <IgnoreValidationErrors>.",
              },
            },
          },
        },
      },
      http: {
        type: 'object',
        required: ['message', 'url'],
        description:
          'Send to an HTTP endpoint, one request per message (Gatehouse; Apigee has no such target). A status outside 2xx is a failed attempt.',
        properties: {
          message: message('The request body.'),
          url: {
            type: 'string',
            minLength: 1,
            maxLength: 4096,
            pattern: '^https?://',
            description:
              "The http:// or https:// URL (literal, not a template); checked at connect time against the DataPlane's rules, as a ServiceCallout URL is.",
          },
          method: { type: 'string', enum: ['POST', 'PUT'], description: 'POST (default) or PUT.' },
          contentType: {
            type: 'string',
            minLength: 1,
            maxLength: 256,
            description: 'The Content-Type; default text/plain.',
          },
          headers: {
            type: 'array',
            maxItems: 16,
            description: 'Request headers (at most 16); a token belongs in a Secret ({secretRef}).',
            items: {
              type: 'object',
              required: ['name', 'value'],
              description: 'One header.',
              properties: {
                name: {
                  type: 'string',
                  minLength: 1,
                  maxLength: 256,
                  pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
                  description: 'The header name.',
                },
                value: refOrSecret({
                  type: 'string',
                  maxLength: 8192,
                  description: 'The value: a literal, {ref: variable} or {secretRef: {name, key}}.',
                }),
              },
            },
          },
          timeout: {
            type: 'integer',
            minimum: 1,
            maximum: 60_000,
            description: 'Milliseconds per attempt; default 5000.',
          },
        },
      },
      stdout: {
        type: 'object',
        required: ['message'],
        description:
          "Write one line to extproc's standard output, for the cluster's log collector (Apigee's <File>: a pod has no log files to rotate).",
        properties: { message: message('The line (newlines become spaces).') },
      },
      logLevel: {
        type: 'string',
        enum: ['DEBUG', 'INFO', 'WARN', 'ERROR', 'ALERT'],
        description:
          'The syslog severity (facility user): ALERT 1, ERROR 3, WARN 4, INFO 6 (default), DEBUG 7. Apigee: <logLevel>.',
      },
      bufferMessage: {
        type: 'boolean',
        description:
          'Accepted for Apigee bundles; every message is queued and sent in the background whatever it says. Apigee: <BufferMessage>.',
      },
    },
  },
  needsBody: (config, phase) => {
    const c = config as MessageLoggingConfig;
    const text = c.syslog?.message ?? c.http?.message ?? c.stdout?.message ?? '';
    return readsBodyVariable(phase, { names: [], templates: [text] });
  },
  validate: (config) => validateMessageLogging(config as MessageLoggingConfig),
};

function validateMessageLogging(config: MessageLoggingConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const targets = [config.syslog, config.http, config.stdout].filter((t) => t !== undefined);
  if (targets.length !== 1) return [{ path: '', message: 'exactly one of syslog, http and stdout' }];
  const kind = messageLoggingTarget(config);
  const text = config.syslog?.message ?? config.http?.message ?? config.stdout!.message;
  problems.push(...templateFieldProblems([{ path: `${kind}.message`, template: text }]));
  const secret = templateVariables(text).find((name) => /^private\./.test(name));
  if (secret !== undefined)
    problems.push({
      path: `${kind}.message`,
      message: `{${secret}} is a private variable: a log target is outside the gateway, private.* values are never logged`,
    });
  const syslog = config.syslog;
  if (syslog) {
    const host = syslog.host.replace(/^\[|\]$/g, '').toLowerCase();
    const cls = refusedTargetClass(host);
    if (cls) problems.push({ path: 'syslog.host', message: `${syslog.host} is a ${cls} address` });
    if (syslog.dateFormat !== undefined) {
      const why = timeFormatProblem(syslog.dateFormat);
      if (why) problems.push({ path: 'syslog.dateFormat', message: why });
      if (!syslog.formatMessage)
        problems.push({ path: 'syslog.dateFormat', message: 'dateFormat applies with formatMessage: true only' });
    }
    const ssl = syslog.sslInfo;
    if (ssl?.enabled && (syslog.protocol ?? 'UDP') !== 'TCP')
      problems.push({ path: 'syslog.protocol', message: 'syslog over TLS needs protocol TCP' });
    if (ssl && !ssl.enabled && (ssl.trustStore || ssl.keyStore || ssl.clientAuthEnabled))
      problems.push({ path: 'syslog.sslInfo.enabled', message: 'TLS settings need enabled: true' });
    if (ssl?.ignoreValidationErrors)
      problems.push({
        path: 'syslog.sslInfo.ignoreValidationErrors',
        message: "not supported: a log target's certificate is always checked (trust its CA with trustStore)",
      });
    if (ssl?.clientAuthEnabled && !ssl.keyStore)
      problems.push({ path: 'syslog.sslInfo.keyStore', message: 'clientAuthEnabled needs a keyStore' });
    if (ssl?.keyStore && !ssl.clientAuthEnabled)
      problems.push({
        path: 'syslog.sslInfo.clientAuthEnabled',
        message: 'a keyStore is presented only with clientAuthEnabled: true',
      });
    if (ssl?.keyStore && !secretRefOf(ssl.keyStore.key))
      problems.push({
        path: 'syslog.sslInfo.keyStore.key',
        message:
          'a private key comes from a Secret only ({secretRef: {name, key}}): a literal or variable would stand in the snapshot or flow in clear',
      });
  }
  const http = config.http;
  if (http) {
    let url: URL | undefined;
    try {
      url = new URL(http.url);
    } catch {
      problems.push({ path: 'http.url', message: `"${http.url}" is not a URL` });
    }
    if (url && (url.username !== '' || url.password !== ''))
      problems.push({ path: 'http.url', message: 'credentials in the URL: put them in a header from a Secret' });
    if (url) {
      const cls = refusedTargetClass(url.hostname.replace(/^\[|\]$/g, ''));
      if (cls) problems.push({ path: 'http.url', message: `${url.hostname} is a ${cls} address` });
    }
    const names = new Set<string>();
    (http.headers ?? []).forEach((h, i) => {
      const lower = h.name.toLowerCase();
      if (names.has(lower)) problems.push({ path: `http.headers[${i}].name`, message: `${h.name} is given twice` });
      names.add(lower);
      if (['host', 'content-length', 'transfer-encoding', 'connection', 'content-type'].includes(lower))
        problems.push({
          path: `http.headers[${i}].name`,
          message: `${h.name} is set by the sender${lower === 'content-type' ? ' (use contentType)' : ''}`,
        });
    });
  }
  return problems;
}
