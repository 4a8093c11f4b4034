// ExternalCallout (docs/policies.md#externalcallout): calls a gRPC server implementing Apigee's
// ExternalCalloutService with the step's MessageContext and applies the reply
// (external-callout-message.ts). The call goes through ctx.callouts (extproc/src/callouts/), which
// pools one channel per target; TLS material is read from the snapshot's policy secrets on every
// request, so a rotated Secret applies without the step being rebuilt.
import {
  externalCallout,
  parseCalloutServer,
  type ExternalCalloutConfig,
  type ExternalCalloutTls,
} from '../../../../protos/policies/extension/external-callout.ts';
import { secretRefOf } from '../../../../protos/policies/schema.ts';
import { CalloutCallError, CalloutTlsError, PolicyFault } from '../../flow/faults.ts';
import type { CalloutTarget, PolicyContext, PolicyImplementation, PolicyMeta, PolicyStep } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';
import { applyMessageContext, buildMessageContext, executionError } from './external-callout-message.ts';

function tlsInitFailed(policy: string, detail: string): PolicyFault {
  return new PolicyFault({
    status: 500,
    errorCode: 'steps.externalcallout.GrpcTlsInitFailed',
    faultString: `ExternalCallout[${policy}]: could not initialise TLS to the gRPC server: ${detail}`,
  });
}

/** The TLS material of the target, from the config's literals and the snapshot's policy secrets. */
function tlsOf(ctx: PolicyContext, tls: ExternalCalloutTls, meta: PolicyMeta): CalloutTarget['tls'] {
  const read = (member: 'caCertificate' | 'clientCertificate' | 'clientKey'): string | undefined => {
    const value = tls[member];
    if (value === undefined) return undefined;
    const ref = secretRefOf(value);
    if (!ref) return value as string; // checkConfig refused {ref}: a literal
    const secret = ctx.runtime.policySecret(meta.namespace, ref);
    if (secret === undefined)
      throw tlsInitFailed(
        meta.name,
        `grpcConnection.tls.${member}: Secret ${ref.name} key ${ref.key} is not in the snapshot`,
      );
    return secret;
  };
  const ca = read('caCertificate');
  const cert = read('clientCertificate');
  const key = read('clientKey');
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(tls.serverName !== undefined ? { serverName: tls.serverName } : {}),
  };
}

export const externalCalloutPolicy: PolicyImplementation<ExternalCalloutConfig> = {
  type: 'ExternalCallout',
  create(config, meta): PolicyStep {
    checkConfig(externalCallout, config, meta);
    const server = parseCalloutServer(config.grpcConnection.server)!; // checkConfig: host:port
    const address = config.grpcConnection.server.startsWith('[')
      ? config.grpcConnection.server
      : `${server.host}:${server.port}`;
    return async (ctx) => {
      const target: CalloutTarget = {
        address,
        ...(config.grpcConnection.tls ? { tls: tlsOf(ctx, config.grpcConnection.tls, meta) } : {}),
      };
      const sent = buildMessageContext(ctx, config.configurations);
      let reply;
      try {
        reply = await ctx.callouts.call(target, sent, config.timeoutMs);
      } catch (err) {
        if (err instanceof CalloutTlsError) throw tlsInitFailed(meta.name, err.message);
        if (err instanceof CalloutCallError) throw executionError(meta.name, err.message);
        throw err;
      }
      applyMessageContext(ctx, sent, reply, meta.name);
      return undefined;
    };
  },
};
