// Original file: protos/gatehouse/v1/runtime.proto

import type { FlowPair as _gatehouse_v1_FlowPair, FlowPair__Output as _gatehouse_v1_FlowPair__Output } from '../../gatehouse/v1/FlowPair.ts';
import type { ConditionalFlow as _gatehouse_v1_ConditionalFlow, ConditionalFlow__Output as _gatehouse_v1_ConditionalFlow__Output } from '../../gatehouse/v1/ConditionalFlow.ts';

export interface Flows {
  'preFlow'?: (_gatehouse_v1_FlowPair | null);
  'conditionalFlows'?: (_gatehouse_v1_ConditionalFlow)[];
  'postFlow'?: (_gatehouse_v1_FlowPair | null);
  /**
   * Response steps only: they run after the response is sent.
   */
  'postClientFlow'?: (_gatehouse_v1_FlowPair | null);
}

export interface Flows__Output {
  'preFlow': (_gatehouse_v1_FlowPair__Output | null);
  'conditionalFlows': (_gatehouse_v1_ConditionalFlow__Output)[];
  'postFlow': (_gatehouse_v1_FlowPair__Output | null);
  /**
   * Response steps only: they run after the response is sent.
   */
  'postClientFlow': (_gatehouse_v1_FlowPair__Output | null);
}
