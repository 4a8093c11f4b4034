// Original file: protos/gatehouse/v1/debug.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DebugCaptureAck as _gatehouse_v1_DebugCaptureAck, DebugCaptureAck__Output as _gatehouse_v1_DebugCaptureAck__Output } from '../../gatehouse/v1/DebugCaptureAck.ts';
import type { DebugCaptureReport as _gatehouse_v1_DebugCaptureReport, DebugCaptureReport__Output as _gatehouse_v1_DebugCaptureReport__Output } from '../../gatehouse/v1/DebugCaptureReport.ts';

export interface DebugCaptureServiceClient extends grpc.Client {
  /**
   * One or more captured transactions of one session. The operator keeps the first `count` of a
   * session across replicas and answers how many more it wants, so a replica stops early.
   */
  Report(argument: _gatehouse_v1_DebugCaptureReport, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gatehouse_v1_DebugCaptureAck__Output>): grpc.ClientUnaryCall;
  Report(argument: _gatehouse_v1_DebugCaptureReport, metadata: grpc.Metadata, callback: grpc.requestCallback<_gatehouse_v1_DebugCaptureAck__Output>): grpc.ClientUnaryCall;
  Report(argument: _gatehouse_v1_DebugCaptureReport, options: grpc.CallOptions, callback: grpc.requestCallback<_gatehouse_v1_DebugCaptureAck__Output>): grpc.ClientUnaryCall;
  Report(argument: _gatehouse_v1_DebugCaptureReport, callback: grpc.requestCallback<_gatehouse_v1_DebugCaptureAck__Output>): grpc.ClientUnaryCall;
  /**
   * One or more captured transactions of one session. The operator keeps the first `count` of a
   * session across replicas and answers how many more it wants, so a replica stops early.
   */
  report(argument: _gatehouse_v1_DebugCaptureReport, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gatehouse_v1_DebugCaptureAck__Output>): grpc.ClientUnaryCall;
  report(argument: _gatehouse_v1_DebugCaptureReport, metadata: grpc.Metadata, callback: grpc.requestCallback<_gatehouse_v1_DebugCaptureAck__Output>): grpc.ClientUnaryCall;
  report(argument: _gatehouse_v1_DebugCaptureReport, options: grpc.CallOptions, callback: grpc.requestCallback<_gatehouse_v1_DebugCaptureAck__Output>): grpc.ClientUnaryCall;
  report(argument: _gatehouse_v1_DebugCaptureReport, callback: grpc.requestCallback<_gatehouse_v1_DebugCaptureAck__Output>): grpc.ClientUnaryCall;
  
}

export interface DebugCaptureServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * One or more captured transactions of one session. The operator keeps the first `count` of a
   * session across replicas and answers how many more it wants, so a replica stops early.
   */
  Report: grpc.handleUnaryCall<_gatehouse_v1_DebugCaptureReport__Output, _gatehouse_v1_DebugCaptureAck>;
  
}

export interface DebugCaptureServiceDefinition extends grpc.ServiceDefinition {
  Report: MethodDefinition<_gatehouse_v1_DebugCaptureReport, _gatehouse_v1_DebugCaptureAck, _gatehouse_v1_DebugCaptureReport__Output, _gatehouse_v1_DebugCaptureAck__Output>
}
