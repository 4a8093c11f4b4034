// <MessageLogging> -> MessageLogging (docs/policies.md#messagelogging). <Syslog> converts member for
// member (Message, Host, Port, Protocol, FormatMessage, DateFormat, SSLInfo Enabled) and <logLevel>;
// <File> becomes stdout (a pod has no log files to rotate: the cluster's collector reads stdout);
// <CloudLogging> has no counterpart (Gatehouse runs outside Google Cloud: use syslog or http).
// TrustStore/KeyStore name Apigee environment objects: reported, the PEM goes in a Secret.
import type { XmlElement } from '../xml.ts';
import { bool, compact, int, type PolicyContext, type PolicyConverter } from './support.ts';

const LEVELS = new Set(['DEBUG', 'INFO', 'WARN', 'ERROR', 'ALERT']);

function sslInfo(el: XmlElement | undefined, ctx: PolicyContext): Record<string, unknown> | undefined {
  if (!el) return undefined;
  for (const name of ['KeyStore', 'KeyAlias', 'TrustStore']) {
    const c = el.child(name);
    if (c)
      ctx.unsupported(
        c.xpath,
        `Apigee ${name} "${c.text}" is an environment object: put the PEM in a Secret and name it in syslog.sslInfo.${name === 'TrustStore' ? 'trustStore' : 'keyStore'}`,
      );
  }
  const clientAuth = el.child('ClientAuthEnabled');
  if (clientAuth && bool(clientAuth, ctx))
    ctx.unsupported(clientAuth.xpath, 'client authentication needs syslog.sslInfo.keyStore naming a Secret; left out');
  const ignore = el.child('IgnoreValidationErrors');
  if (ignore && bool(ignore, ctx))
    ctx.unsupported(ignore.xpath, "a log target's certificate is always checked: trust its CA with sslInfo.trustStore");
  return compact({ enabled: bool(el.child('Enabled'), ctx) });
}

function syslog(el: XmlElement, ctx: PolicyContext): Record<string, unknown> | undefined {
  const message = el.child('Message')?.text;
  const host = el.childText('Host')?.trim();
  if (!message || !host) {
    ctx.unsupported(el.xpath, 'a syslog target needs <Message> and <Host>');
    return undefined;
  }
  const protocolEl = el.child('Protocol');
  const protocol = protocolEl?.text.trim().toUpperCase();
  if (protocolEl && protocol !== 'TCP' && protocol !== 'UDP') {
    ctx.unsupported(protocolEl.xpath, `Invalid Protocol: ${protocolEl.text} (TCP or UDP)`);
  }
  const portEl = el.child('Port');
  const ssl = sslInfo(el.child('SSLInfo'), ctx);
  const formatMessage = bool(el.child('FormatMessage'), ctx);
  const dateFormat = el.childText('DateFormat')?.trim();
  if (dateFormat && !formatMessage)
    ctx.unsupported(el.child('DateFormat')!.xpath, 'DateFormat applies with FormatMessage true only; left out');
  return compact({
    message,
    host,
    port: int(portEl?.text.trim(), portEl?.xpath ?? el.xpath, ctx, { min: 1, max: 65_535 }),
    protocol: protocol === 'TCP' || protocol === 'UDP' ? protocol : undefined,
    formatMessage,
    dateFormat: dateFormat && formatMessage ? dateFormat : undefined,
    sslInfo: ssl && Object.keys(ssl).length > 0 ? ssl : undefined,
  });
}

export const messageLoggingConverter: PolicyConverter = {
  type: 'MessageLogging',
  convert(el, ctx) {
    const cloud = el.child('CloudLogging');
    if (cloud)
      ctx.unsupported(cloud.xpath, 'Cloud Logging has no counterpart: send to syslog or an http target instead');
    const syslogEl = el.child('Syslog');
    const fileEl = el.child('File');
    let target: Record<string, unknown> | undefined;
    if (syslogEl) {
      const s = syslog(syslogEl, ctx);
      if (s) target = { syslog: s };
      if (fileEl) ctx.unsupported(fileEl.xpath, 'one target per policy: <Syslog> was converted, <File> left out');
    } else if (fileEl) {
      const message = fileEl.child('Message')?.text;
      for (const name of ['FileName', 'FileRotationOptions']) {
        const c = fileEl.child(name);
        if (c) ctx.unsupported(c.xpath, `${name}: messages go to extproc's stdout, for the cluster's log collector`);
      }
      if (message) target = { stdout: { message } };
      else ctx.unsupported(fileEl.xpath, 'a File target needs <Message>');
    }
    if (!target) {
      if (!cloud) ctx.unsupported(el.xpath, 'no <Syslog> or <File>: nothing to log to');
      return undefined;
    }
    const levelEl = el.child('logLevel');
    const level = levelEl?.text.trim().toUpperCase();
    if (levelEl && !LEVELS.has(level ?? ''))
      ctx.unsupported(levelEl.xpath, `"${levelEl.text}" is not one of ${[...LEVELS].join(', ')}`);
    return compact({
      ...target,
      logLevel: level && LEVELS.has(level) ? level : undefined,
      bufferMessage: bool(el.child('BufferMessage'), ctx),
    });
  },
};
