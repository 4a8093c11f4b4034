import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Analytics as _gatehouse_v1_Analytics, Analytics__Output as _gatehouse_v1_Analytics__Output } from './gatehouse/v1/Analytics.ts';
import type { AnalyticsFileSink as _gatehouse_v1_AnalyticsFileSink, AnalyticsFileSink__Output as _gatehouse_v1_AnalyticsFileSink__Output } from './gatehouse/v1/AnalyticsFileSink.ts';
import type { AnalyticsHttpSink as _gatehouse_v1_AnalyticsHttpSink, AnalyticsHttpSink__Output as _gatehouse_v1_AnalyticsHttpSink__Output } from './gatehouse/v1/AnalyticsHttpSink.ts';
import type { AnalyticsOtlpSink as _gatehouse_v1_AnalyticsOtlpSink, AnalyticsOtlpSink__Output as _gatehouse_v1_AnalyticsOtlpSink__Output } from './gatehouse/v1/AnalyticsOtlpSink.ts';
import type { App as _gatehouse_v1_App, App__Output as _gatehouse_v1_App__Output } from './gatehouse/v1/App.ts';
import type { AppProduct as _gatehouse_v1_AppProduct, AppProduct__Output as _gatehouse_v1_AppProduct__Output } from './gatehouse/v1/AppProduct.ts';
import type { Comparison as _gatehouse_v1_Comparison, Comparison__Output as _gatehouse_v1_Comparison__Output } from './gatehouse/v1/Comparison.ts';
import type { Condition as _gatehouse_v1_Condition, Condition__Output as _gatehouse_v1_Condition__Output } from './gatehouse/v1/Condition.ts';
import type { ConditionalFlow as _gatehouse_v1_ConditionalFlow, ConditionalFlow__Output as _gatehouse_v1_ConditionalFlow__Output } from './gatehouse/v1/ConditionalFlow.ts';
import type { Conditions as _gatehouse_v1_Conditions, Conditions__Output as _gatehouse_v1_Conditions__Output } from './gatehouse/v1/Conditions.ts';
import type { Credential as _gatehouse_v1_Credential, Credential__Output as _gatehouse_v1_Credential__Output } from './gatehouse/v1/Credential.ts';
import type { DataPlane as _gatehouse_v1_DataPlane, DataPlane__Output as _gatehouse_v1_DataPlane__Output } from './gatehouse/v1/DataPlane.ts';
import type { DebugMask as _gatehouse_v1_DebugMask, DebugMask__Output as _gatehouse_v1_DebugMask__Output } from './gatehouse/v1/DebugMask.ts';
import type { DebugSession as _gatehouse_v1_DebugSession, DebugSession__Output as _gatehouse_v1_DebugSession__Output } from './gatehouse/v1/DebugSession.ts';
import type { DefaultFaultRule as _gatehouse_v1_DefaultFaultRule, DefaultFaultRule__Output as _gatehouse_v1_DefaultFaultRule__Output } from './gatehouse/v1/DefaultFaultRule.ts';
import type { Developer as _gatehouse_v1_Developer, Developer__Output as _gatehouse_v1_Developer__Output } from './gatehouse/v1/Developer.ts';
import type { FaultRule as _gatehouse_v1_FaultRule, FaultRule__Output as _gatehouse_v1_FaultRule__Output } from './gatehouse/v1/FaultRule.ts';
import type { FlowHooks as _gatehouse_v1_FlowHooks, FlowHooks__Output as _gatehouse_v1_FlowHooks__Output } from './gatehouse/v1/FlowHooks.ts';
import type { FlowPair as _gatehouse_v1_FlowPair, FlowPair__Output as _gatehouse_v1_FlowPair__Output } from './gatehouse/v1/FlowPair.ts';
import type { Flows as _gatehouse_v1_Flows, Flows__Output as _gatehouse_v1_Flows__Output } from './gatehouse/v1/Flows.ts';
import type { KeyValueMap as _gatehouse_v1_KeyValueMap, KeyValueMap__Output as _gatehouse_v1_KeyValueMap__Output } from './gatehouse/v1/KeyValueMap.ts';
import type { KeyValueMapValues as _gatehouse_v1_KeyValueMapValues, KeyValueMapValues__Output as _gatehouse_v1_KeyValueMapValues__Output } from './gatehouse/v1/KeyValueMapValues.ts';
import type { Operand as _gatehouse_v1_Operand, Operand__Output as _gatehouse_v1_Operand__Output } from './gatehouse/v1/Operand.ts';
import type { Policy as _gatehouse_v1_Policy, Policy__Output as _gatehouse_v1_Policy__Output } from './gatehouse/v1/Policy.ts';
import type { Product as _gatehouse_v1_Product, Product__Output as _gatehouse_v1_Product__Output } from './gatehouse/v1/Product.ts';
import type { ProductQuota as _gatehouse_v1_ProductQuota, ProductQuota__Output as _gatehouse_v1_ProductQuota__Output } from './gatehouse/v1/ProductQuota.ts';
import type { Proxy as _gatehouse_v1_Proxy, Proxy__Output as _gatehouse_v1_Proxy__Output } from './gatehouse/v1/Proxy.ts';
import type { RedisSettings as _gatehouse_v1_RedisSettings, RedisSettings__Output as _gatehouse_v1_RedisSettings__Output } from './gatehouse/v1/RedisSettings.ts';
import type { RuntimeSnapshot as _gatehouse_v1_RuntimeSnapshot, RuntimeSnapshot__Output as _gatehouse_v1_RuntimeSnapshot__Output } from './gatehouse/v1/RuntimeSnapshot.ts';
import type { SharedFlow as _gatehouse_v1_SharedFlow, SharedFlow__Output as _gatehouse_v1_SharedFlow__Output } from './gatehouse/v1/SharedFlow.ts';
import type { Step as _gatehouse_v1_Step, Step__Output as _gatehouse_v1_Step__Output } from './gatehouse/v1/Step.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  gatehouse: {
    v1: {
      Analytics: MessageTypeDefinition<_gatehouse_v1_Analytics, _gatehouse_v1_Analytics__Output>
      AnalyticsFileSink: MessageTypeDefinition<_gatehouse_v1_AnalyticsFileSink, _gatehouse_v1_AnalyticsFileSink__Output>
      AnalyticsHttpSink: MessageTypeDefinition<_gatehouse_v1_AnalyticsHttpSink, _gatehouse_v1_AnalyticsHttpSink__Output>
      AnalyticsOtlpSink: MessageTypeDefinition<_gatehouse_v1_AnalyticsOtlpSink, _gatehouse_v1_AnalyticsOtlpSink__Output>
      App: MessageTypeDefinition<_gatehouse_v1_App, _gatehouse_v1_App__Output>
      AppProduct: MessageTypeDefinition<_gatehouse_v1_AppProduct, _gatehouse_v1_AppProduct__Output>
      Comparison: MessageTypeDefinition<_gatehouse_v1_Comparison, _gatehouse_v1_Comparison__Output>
      Condition: MessageTypeDefinition<_gatehouse_v1_Condition, _gatehouse_v1_Condition__Output>
      ConditionalFlow: MessageTypeDefinition<_gatehouse_v1_ConditionalFlow, _gatehouse_v1_ConditionalFlow__Output>
      Conditions: MessageTypeDefinition<_gatehouse_v1_Conditions, _gatehouse_v1_Conditions__Output>
      Credential: MessageTypeDefinition<_gatehouse_v1_Credential, _gatehouse_v1_Credential__Output>
      DataPlane: MessageTypeDefinition<_gatehouse_v1_DataPlane, _gatehouse_v1_DataPlane__Output>
      DebugMask: MessageTypeDefinition<_gatehouse_v1_DebugMask, _gatehouse_v1_DebugMask__Output>
      DebugSession: MessageTypeDefinition<_gatehouse_v1_DebugSession, _gatehouse_v1_DebugSession__Output>
      DefaultFaultRule: MessageTypeDefinition<_gatehouse_v1_DefaultFaultRule, _gatehouse_v1_DefaultFaultRule__Output>
      Developer: MessageTypeDefinition<_gatehouse_v1_Developer, _gatehouse_v1_Developer__Output>
      FaultRule: MessageTypeDefinition<_gatehouse_v1_FaultRule, _gatehouse_v1_FaultRule__Output>
      FlowHooks: MessageTypeDefinition<_gatehouse_v1_FlowHooks, _gatehouse_v1_FlowHooks__Output>
      FlowPair: MessageTypeDefinition<_gatehouse_v1_FlowPair, _gatehouse_v1_FlowPair__Output>
      Flows: MessageTypeDefinition<_gatehouse_v1_Flows, _gatehouse_v1_Flows__Output>
      KeyValueMap: MessageTypeDefinition<_gatehouse_v1_KeyValueMap, _gatehouse_v1_KeyValueMap__Output>
      KeyValueMapValues: MessageTypeDefinition<_gatehouse_v1_KeyValueMapValues, _gatehouse_v1_KeyValueMapValues__Output>
      Operand: MessageTypeDefinition<_gatehouse_v1_Operand, _gatehouse_v1_Operand__Output>
      Policy: MessageTypeDefinition<_gatehouse_v1_Policy, _gatehouse_v1_Policy__Output>
      Product: MessageTypeDefinition<_gatehouse_v1_Product, _gatehouse_v1_Product__Output>
      ProductQuota: MessageTypeDefinition<_gatehouse_v1_ProductQuota, _gatehouse_v1_ProductQuota__Output>
      Proxy: MessageTypeDefinition<_gatehouse_v1_Proxy, _gatehouse_v1_Proxy__Output>
      RedisSettings: MessageTypeDefinition<_gatehouse_v1_RedisSettings, _gatehouse_v1_RedisSettings__Output>
      RuntimeSnapshot: MessageTypeDefinition<_gatehouse_v1_RuntimeSnapshot, _gatehouse_v1_RuntimeSnapshot__Output>
      SharedFlow: MessageTypeDefinition<_gatehouse_v1_SharedFlow, _gatehouse_v1_SharedFlow__Output>
      Step: MessageTypeDefinition<_gatehouse_v1_Step, _gatehouse_v1_Step__Output>
    }
  }
}

