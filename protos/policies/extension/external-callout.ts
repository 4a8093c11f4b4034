// ExternalCallout: sends the flow (a MessageContext: the message, flow variables) to a gRPC server
// speaking Apigee's ExternalCalloutService (protos/apigee/external_callout.proto) and applies what it
// returns (docs/policies.md#externalcallout). Apigee names its server by TargetServer; here the
// server is an address, with TLS material from Secrets (a private key never stands in the config).
import type { PolicyTypeSpec } from '../index.ts';
import { refOrSecret, secretRefOf, type ConfigProblem, type RefOrSecret } from '../schema.ts';
import { refusedTargetClass } from '../target-address.ts';

export interface ExternalCalloutTls {
  /** PEM CA bundle the server's certificate must chain to: a literal or a secretRef. Absent: the system's roots. */
  caCertificate?: RefOrSecret<string>;
  /** PEM client certificate (mutual TLS): a literal or a secretRef; needs clientKey. */
  clientCertificate?: RefOrSecret<string>;
  /** PEM private key of the client certificate: a secretRef only. */
  clientKey?: RefOrSecret<string>;
  /** The name the server's certificate must hold, when it is not the address's host. */
  serverName?: string;
}

export interface ExternalCalloutConfig {
  /** Apigee <TimeoutMs>: the call's deadline. */
  timeoutMs: number;
  /** Apigee <GrpcConnection>. */
  grpcConnection: {
    /** host:port of the callout server (Apigee: <Server name="TargetServer">, whose host and port these are). */
    server: string;
    /** TLS (Apigee: the TargetServer's <SSLInfo>); absent: plain text (an in-cluster sidecar). */
    tls?: ExternalCalloutTls;
  };
  /** Apigee <Configurations>. */
  configurations?: {
    /** <Property name="with.request.content">: send the request body. */
    withRequestContent?: boolean;
    /** <Property name="with.request.headers">. */
    withRequestHeaders?: boolean;
    /** <Property name="with.response.content">. */
    withResponseContent?: boolean;
    /** <Property name="with.response.headers">. */
    withResponseHeaders?: boolean;
    /** <FlowVariable> elements: variable name prefixes whose variables are sent. */
    flowVariables?: string[];
  };
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?):([0-9]{1,5})$/;

/** The host and port of a `host:port` (IPv6 in brackets), or undefined when it is not one. */
export function parseCalloutServer(server: string): { host: string; port: number } | undefined {
  const m = HOST_PORT.exec(server);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, '').toLowerCase(), port };
}

const pem = (what: string, secretOnly: boolean) =>
  refOrSecret({
    type: 'string',
    maxLength: 65536,
    description: `${what}${secretOnly ? ': a {secretRef} only (never a literal, which would stand in the snapshot in clear, nor a {ref})' : ': a PEM literal or a {secretRef} (not a {ref})'}.`,
  });

const property = (name: string) => ({
  type: 'boolean' as const,
  description: `Apigee: <Property name="${name}">. Default false.`,
});

export const externalCallout: PolicyTypeSpec = {
  type: 'ExternalCallout',
  member: 'externalCallout',
  group: 'extension',
  schema: {
    type: 'object',
    description:
      "ExternalCallout: calls a gRPC server implementing Apigee's ExternalCalloutService (ProcessMessage) with the flow's message and chosen flow variables, and applies the changes it returns. Apigee: <ExternalCallout>.",
    required: ['timeoutMs', 'grpcConnection'],
    properties: {
      timeoutMs: {
        type: 'integer',
        minimum: 1,
        maximum: 300000,
        description:
          'The deadline of the gRPC call, in milliseconds; past it the step fails with ExecutionError. Apigee: <TimeoutMs>.',
      },
      grpcConnection: {
        type: 'object',
        required: ['server'],
        description: 'The callout server. Apigee: <GrpcConnection>.',
        properties: {
          server: {
            type: 'string',
            minLength: 3,
            maxLength: 261,
            description:
              'host:port of the server ([v6]:port for IPv6). Apigee: <Server name="..."/> names a TargetServer; its host and port go here.',
          },
          tls: {
            type: 'object',
            description:
              "TLS to the server (Apigee: the TargetServer's SSLInfo). Absent: plain text, for a sidecar or an in-cluster service.",
            properties: {
              caCertificate: pem('PEM CA certificates the server must chain to (default: the system roots)', false),
              clientCertificate: pem('PEM client certificate for mutual TLS (needs clientKey)', false),
              clientKey: pem('PEM private key of the client certificate', true),
              serverName: {
                type: 'string',
                minLength: 1,
                maxLength: 253,
                description: "The name the server's certificate is checked against; default the server's host.",
              },
            },
          },
        },
      },
      configurations: {
        type: 'object',
        description: 'What is sent to the server. Apigee: <Configurations>.',
        properties: {
          withRequestContent: property('with.request.content'),
          withRequestHeaders: property('with.request.headers'),
          withResponseContent: property('with.response.content'),
          withResponseHeaders: property('with.response.headers'),
          flowVariables: {
            type: 'array',
            maxItems: 64,
            items: { type: 'string', minLength: 1, maxLength: 256, description: 'a variable name or prefix (a.b.c)' },
            description:
              'Flow variable name prefixes: every variable named so, or below it (a.b sends a.b and a.b.c), goes in additional_flow_variables. Apigee: <FlowVariable>.',
          },
        },
      },
    },
  },
  needsBody: (config, phase) => {
    const c = (config as ExternalCalloutConfig).configurations ?? {};
    return phase === 'request' ? c.withRequestContent === true : c.withResponseContent === true;
  },
  validate: (config) => {
    const c = config as ExternalCalloutConfig;
    const problems: ConfigProblem[] = [];
    const server = parseCalloutServer(c.grpcConnection.server);
    if (!server) {
      problems.push({ path: 'grpcConnection.server', message: 'must be host:port (IPv6 as [address]:port)' });
    } else {
      const refused = refusedTargetClass(server.host);
      if (refused) {
        problems.push({
          path: 'grpcConnection.server',
          message: `${server.host} is a ${refused} address; a callout may not reach it`,
        });
      }
    }
    const tls = c.grpcConnection.tls;
    if (tls) {
      for (const member of ['caCertificate', 'clientCertificate', 'clientKey'] as const) {
        const value = tls[member];
        if (value === undefined) continue;
        const path = `grpcConnection.tls.${member}`;
        if (typeof value === 'object' && !secretRefOf(value))
          problems.push({ path, message: 'TLS material is a PEM literal or a {secretRef}, not a {ref}' });
        else if (member === 'clientKey' && typeof value === 'string')
          problems.push({
            path,
            message:
              'a literal private key would stand in the snapshot in clear: use {secretRef: {name, key}} (a Secret labelled gatehouse.dev/credential)',
          });
      }
      if ((tls.clientCertificate === undefined) !== (tls.clientKey === undefined))
        problems.push({
          path: 'grpcConnection.tls',
          message: 'clientCertificate and clientKey go together (mutual TLS needs both)',
        });
    }
    return problems;
  },
};
