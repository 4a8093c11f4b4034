// The gRPC side of JavaCallout (docs/policies.md#javacallout): one grpc-js client of the Java callout
// host's ExternalCalloutService (apigee/external_callout.proto), shared by every JavaCallout step.
// A minimal client of our own until ExternalCallout's pooled client (PolicyContext.callouts) is in
// main; then this file becomes a call through it.
//
// Failure is bounded: every call carries a deadline; calls fail fast when the host is down (no
// wait-for-ready), and reconnect backoff is capped at a second, so a restarted sidecar serves again
// within about a second instead of grpc-js's default two minutes.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ExternalCalloutServiceClient } from '../../../../protos/gen/apigee/ExternalCalloutService.ts';
import type { MessageContext, MessageContext__Output } from '../../../../protos/gen/apigee/MessageContext.ts';
import type { ProtoGrpcType } from '../../../../protos/gen/external_callout.ts';

const PROTOS = fileURLToPath(new URL('../../../../protos', import.meta.url));

/** Where the host listens: the DataPlane runs it as a sidecar on the pod's loopback (docs/operations.md). */
export const DEFAULT_JAVA_CALLOUT_HOST = '127.0.0.1:9443';

/** Largest answer accepted from the host: the message it returns is bounded like a body extproc buffers. */
const MAX_RECEIVE_BYTES = 8 * 1024 * 1024;

/** Why a call failed: the gRPC status name, and its details (never message content). */
export class JavaCalloutCallError extends Error {
  readonly status: string;
  constructor(status: string, details: string) {
    super(`${status}: ${details}`);
    this.status = status;
  }
}

export interface JavaCalloutTransport {
  call(message: MessageContext, deadlineMs: number): Promise<MessageContext__Output>;
}

class GrpcJavaCalloutHost implements JavaCalloutTransport {
  private readonly client: ExternalCalloutServiceClient;

  constructor(address: string) {
    const proto = grpc.loadPackageDefinition(
      protoLoader.loadSync('apigee/external_callout.proto', {
        longs: String,
        enums: String,
        defaults: true,
        oneofs: true,
        includeDirs: [PROTOS],
      }),
    ) as unknown as ProtoGrpcType;
    this.client = new proto.apigee.ExternalCalloutService(address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
  }

  call(message: MessageContext, deadlineMs: number): Promise<MessageContext__Output> {
    return new Promise((resolve, reject) => {
      this.client.ProcessMessage(message, { deadline: Date.now() + deadlineMs }, (err, answer) => {
        if (err || !answer) {
          const code = err && typeof err.code === 'number' ? (grpc.status[err.code] ?? String(err.code)) : 'UNKNOWN';
          reject(new JavaCalloutCallError(code, err?.details || 'no answer'));
        } else resolve(answer);
      });
    });
  }

  close(): void {
    this.client.close();
  }
}

let host: { address: string; transport: GrpcJavaCalloutHost } | undefined;

/**
 * The host's address: what setJavaCalloutHost named, else $GATEHOUSE_JAVA_CALLOUT_HOST, else the
 * sidecar's loopback port.
 */
function currentAddress(): string {
  return configured ?? process.env.GATEHOUSE_JAVA_CALLOUT_HOST ?? DEFAULT_JAVA_CALLOUT_HOST;
}

let configured: string | undefined;

/** Points JavaCallout at another host (tests; extproc takes the variable). Closes the old client. */
export function setJavaCalloutHost(address: string | undefined): void {
  configured = address;
  if (host && host.address !== currentAddress()) {
    host.transport.close();
    host = undefined;
  }
}

/** The shared client of the current address. */
export function javaCalloutHost(): JavaCalloutTransport {
  const address = currentAddress();
  if (!host || host.address !== address) {
    host?.transport.close();
    host = { address, transport: new GrpcJavaCalloutHost(address) };
  }
  return host.transport;
}
