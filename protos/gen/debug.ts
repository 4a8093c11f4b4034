import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { DebugCaptureAck as _gatehouse_v1_DebugCaptureAck, DebugCaptureAck__Output as _gatehouse_v1_DebugCaptureAck__Output } from './gatehouse/v1/DebugCaptureAck.ts';
import type { DebugCaptureReport as _gatehouse_v1_DebugCaptureReport, DebugCaptureReport__Output as _gatehouse_v1_DebugCaptureReport__Output } from './gatehouse/v1/DebugCaptureReport.ts';
import type { DebugCaptureServiceClient as _gatehouse_v1_DebugCaptureServiceClient, DebugCaptureServiceDefinition as _gatehouse_v1_DebugCaptureServiceDefinition } from './gatehouse/v1/DebugCaptureService.ts';
import type { DebugMessage as _gatehouse_v1_DebugMessage, DebugMessage__Output as _gatehouse_v1_DebugMessage__Output } from './gatehouse/v1/DebugMessage.ts';
import type { DebugPoint as _gatehouse_v1_DebugPoint, DebugPoint__Output as _gatehouse_v1_DebugPoint__Output } from './gatehouse/v1/DebugPoint.ts';
import type { DebugTransaction as _gatehouse_v1_DebugTransaction, DebugTransaction__Output as _gatehouse_v1_DebugTransaction__Output } from './gatehouse/v1/DebugTransaction.ts';
import type { DebugVariable as _gatehouse_v1_DebugVariable, DebugVariable__Output as _gatehouse_v1_DebugVariable__Output } from './gatehouse/v1/DebugVariable.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  gatehouse: {
    v1: {
      DebugCaptureAck: MessageTypeDefinition<_gatehouse_v1_DebugCaptureAck, _gatehouse_v1_DebugCaptureAck__Output>
      DebugCaptureReport: MessageTypeDefinition<_gatehouse_v1_DebugCaptureReport, _gatehouse_v1_DebugCaptureReport__Output>
      DebugCaptureService: SubtypeConstructor<typeof grpc.Client, _gatehouse_v1_DebugCaptureServiceClient> & { service: _gatehouse_v1_DebugCaptureServiceDefinition }
      DebugMessage: MessageTypeDefinition<_gatehouse_v1_DebugMessage, _gatehouse_v1_DebugMessage__Output>
      DebugPoint: MessageTypeDefinition<_gatehouse_v1_DebugPoint, _gatehouse_v1_DebugPoint__Output>
      DebugTransaction: MessageTypeDefinition<_gatehouse_v1_DebugTransaction, _gatehouse_v1_DebugTransaction__Output>
      DebugVariable: MessageTypeDefinition<_gatehouse_v1_DebugVariable, _gatehouse_v1_DebugVariable__Output>
    }
  }
}

