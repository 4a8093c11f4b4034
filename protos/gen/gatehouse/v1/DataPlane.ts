// Original file: protos/gatehouse/v1/runtime.proto

import type { RedisSettings as _gatehouse_v1_RedisSettings, RedisSettings__Output as _gatehouse_v1_RedisSettings__Output } from '../../gatehouse/v1/RedisSettings.ts';
import type { FlowHooks as _gatehouse_v1_FlowHooks, FlowHooks__Output as _gatehouse_v1_FlowHooks__Output } from '../../gatehouse/v1/FlowHooks.ts';
import type { Analytics as _gatehouse_v1_Analytics, Analytics__Output as _gatehouse_v1_Analytics__Output } from '../../gatehouse/v1/Analytics.ts';
import type { Long } from '@grpc/proto-loader';

export interface DataPlane {
  'namespace'?: (string);
  'name'?: (string);
  /**
   * The environment.name flow variable.
   */
  'region'?: (string);
  /**
   * FailClosed | FailOpen
   */
  'failureMode'?: (string);
  'messageTimeoutMs'?: (number | string | Long);
  'redis'?: (_gatehouse_v1_RedisSettings | null);
  /**
   * spec.upstream.allowLinkLocalTargets: callouts (ServiceCallout) may reach link-local, unspecified
   * and cloud metadata addresses too (protos/policies/target-address.ts).
   */
  'allowLinkLocalTargets'?: (boolean);
  /**
   * spec.upstream.calloutPrivateNetworks: the private networks (CIDRs) callouts may reach.
   */
  'calloutPrivateNetworks'?: (string)[];
  /**
   * Shared flows run on every proxy of this DataPlane (Apigee's environment flow hooks).
   */
  'flowHooks'?: (_gatehouse_v1_FlowHooks | null);
  /**
   * spec.analytics: one analytics record per transaction, exported by extproc in the background
   * (docs/operations.md#analytics). Absent: analytics is off.
   */
  'analytics'?: (_gatehouse_v1_Analytics | null);
}

export interface DataPlane__Output {
  'namespace': (string);
  'name': (string);
  /**
   * The environment.name flow variable.
   */
  'region': (string);
  /**
   * FailClosed | FailOpen
   */
  'failureMode': (string);
  'messageTimeoutMs': (string);
  'redis': (_gatehouse_v1_RedisSettings__Output | null);
  /**
   * spec.upstream.allowLinkLocalTargets: callouts (ServiceCallout) may reach link-local, unspecified
   * and cloud metadata addresses too (protos/policies/target-address.ts).
   */
  'allowLinkLocalTargets': (boolean);
  /**
   * spec.upstream.calloutPrivateNetworks: the private networks (CIDRs) callouts may reach.
   */
  'calloutPrivateNetworks': (string)[];
  /**
   * Shared flows run on every proxy of this DataPlane (Apigee's environment flow hooks).
   */
  'flowHooks': (_gatehouse_v1_FlowHooks__Output | null);
  /**
   * spec.analytics: one analytics record per transaction, exported by extproc in the background
   * (docs/operations.md#analytics). Absent: analytics is off.
   */
  'analytics': (_gatehouse_v1_Analytics__Output | null);
}
