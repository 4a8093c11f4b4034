// <ExternalCallout> -> ExternalCallout (docs/policies.md#externalcallout). Apigee names the server by
// TargetServer, an environment object outside the bundle: the converter writes a Service of that name
// on gRPC's usual port and reports it, to be set to the server's real host:port (and TLS).
import { baseName } from '../names.ts';
import { bool, compact, int, type PolicyConverter } from './support.ts';

/** Apigee's <Property name> to the Gatehouse member. */
const PROPERTIES: Readonly<Record<string, string>> = {
  'with.request.content': 'withRequestContent',
  'with.request.headers': 'withRequestHeaders',
  'with.response.content': 'withResponseContent',
  'with.response.headers': 'withResponseHeaders',
};

/** The port assumed for a TargetServer the bundle cannot tell: gRPC's conventional one. */
const ASSUMED_PORT = 50051;

export const externalCalloutConverter: PolicyConverter = {
  type: 'ExternalCallout',
  convert(el, ctx) {
    const timeoutEl = el.child('TimeoutMs');
    const timeoutMs = int(timeoutEl?.text, timeoutEl?.xpath ?? `${el.xpath}/TimeoutMs`, ctx, { min: 1, max: 300000 });
    if (timeoutMs === undefined) {
      if (!timeoutEl)
        ctx.unsupported(`${el.xpath}/TimeoutMs`, 'no <TimeoutMs>: Apigee requires one, and so does Gatehouse');
      return undefined;
    }
    const conn = el.child('GrpcConnection');
    const serverEl = conn?.child('Server');
    const target = serverEl?.attr('name');
    if (!target) {
      ctx.unsupported(
        serverEl?.xpath ?? `${el.xpath}/GrpcConnection/Server`,
        'no <Server name>: the gRPC server is not named',
      );
      return undefined;
    }
    const service = baseName(target);
    ctx.unsupported(
      serverEl!.xpath,
      `TargetServer ${target} must be created separately: the server is written as ${service}:${ASSUMED_PORT} (a Service named ${service}, port assumed); set grpcConnection.server to its host:port, and grpcConnection.tls when its SSLInfo is enabled`,
    );
    const auth = conn?.child('Authentication');
    // Reported once, as a whole: its children (GoogleIDToken, Audience, HeaderName) go with it.
    auth?.consume();
    if (auth)
      ctx.unsupported(
        auth.xpath,
        'GoogleIDToken has no counterpart: Gatehouse mints no Google ID tokens; authenticate the callout server with mutual TLS (grpcConnection.tls)',
      );
    const configs = el.child('Configurations');
    const properties: Record<string, boolean> = {};
    for (const p of configs?.all('Property') ?? []) {
      const name = p.attr('name') ?? '';
      const member = PROPERTIES[name];
      if (!member) {
        ctx.unsupported(p.xpath, `Property "${name}" is not one of ${Object.keys(PROPERTIES).join(', ')}`);
        continue;
      }
      const value = bool(p, ctx);
      if (value !== undefined) properties[member] = value;
    }
    const flowVariables = (configs?.all('FlowVariable') ?? []).map((v) => v.text).filter((v) => v !== '');
    const configurations = compact({
      ...properties,
      flowVariables: flowVariables.length > 0 ? flowVariables : undefined,
    });
    return compact({
      timeoutMs,
      grpcConnection: { server: `${service}:${ASSUMED_PORT}` },
      configurations: Object.keys(configurations).length > 0 ? configurations : undefined,
    });
  },
};
