// The callout server bench/externalcallout.ts calls, in its own process so that the bench's CPU
// figures are the gateway side's only: Apigee's ExternalCalloutService on grpc-js, answering with one
// header changed and one flow variable set (a typical enrichment callout). Prints "PORT <n>" once serving.
import * as grpc from '@grpc/grpc-js';
import { externalCalloutProtos } from '../extproc/src/callouts/external-callout-client.ts';
import type { MessageContext__Output } from '../protos/gen/apigee/MessageContext.ts';

const server = new grpc.Server();
server.addService(externalCalloutProtos().apigee.ExternalCalloutService.service, {
  processMessage: (call: grpc.ServerUnaryCall<MessageContext__Output, unknown>, done: grpc.sendUnaryData<unknown>) => {
    done(null, {
      request: { headers: { 'x-enriched': { strings: [call.request.request?.verb ?? ''] } } },
      additionalFlowVariables: { 'callout.tier': { string: 'gold' } },
    });
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  console.log(`PORT ${port}`);
});
process.on('SIGTERM', () => server.forceShutdown());
