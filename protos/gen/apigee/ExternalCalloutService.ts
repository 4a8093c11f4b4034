// Original file: protos/apigee/external_callout.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { MessageContext as _apigee_MessageContext, MessageContext__Output as _apigee_MessageContext__Output } from '../apigee/MessageContext.ts';

export interface ExternalCalloutServiceClient extends grpc.Client {
  /**
   * Receives the flow's MessageContext and returns it, possibly changed. A gRPC error status from
   * the server becomes the policy's ExecutionFailed fault.
   */
  ProcessMessage(argument: _apigee_MessageContext, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_apigee_MessageContext__Output>): grpc.ClientUnaryCall;
  ProcessMessage(argument: _apigee_MessageContext, metadata: grpc.Metadata, callback: grpc.requestCallback<_apigee_MessageContext__Output>): grpc.ClientUnaryCall;
  ProcessMessage(argument: _apigee_MessageContext, options: grpc.CallOptions, callback: grpc.requestCallback<_apigee_MessageContext__Output>): grpc.ClientUnaryCall;
  ProcessMessage(argument: _apigee_MessageContext, callback: grpc.requestCallback<_apigee_MessageContext__Output>): grpc.ClientUnaryCall;
  /**
   * Receives the flow's MessageContext and returns it, possibly changed. A gRPC error status from
   * the server becomes the policy's ExecutionFailed fault.
   */
  processMessage(argument: _apigee_MessageContext, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_apigee_MessageContext__Output>): grpc.ClientUnaryCall;
  processMessage(argument: _apigee_MessageContext, metadata: grpc.Metadata, callback: grpc.requestCallback<_apigee_MessageContext__Output>): grpc.ClientUnaryCall;
  processMessage(argument: _apigee_MessageContext, options: grpc.CallOptions, callback: grpc.requestCallback<_apigee_MessageContext__Output>): grpc.ClientUnaryCall;
  processMessage(argument: _apigee_MessageContext, callback: grpc.requestCallback<_apigee_MessageContext__Output>): grpc.ClientUnaryCall;
  
}

export interface ExternalCalloutServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Receives the flow's MessageContext and returns it, possibly changed. A gRPC error status from
   * the server becomes the policy's ExecutionFailed fault.
   */
  ProcessMessage: grpc.handleUnaryCall<_apigee_MessageContext__Output, _apigee_MessageContext>;
  
}

export interface ExternalCalloutServiceDefinition extends grpc.ServiceDefinition {
  ProcessMessage: MethodDefinition<_apigee_MessageContext, _apigee_MessageContext, _apigee_MessageContext__Output, _apigee_MessageContext__Output>
}
