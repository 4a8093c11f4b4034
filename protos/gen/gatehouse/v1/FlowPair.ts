// Original file: protos/gatehouse/v1/runtime.proto

import type { Step as _gatehouse_v1_Step, Step__Output as _gatehouse_v1_Step__Output } from '../../gatehouse/v1/Step.ts';

export interface FlowPair {
  'request'?: (_gatehouse_v1_Step)[];
  'response'?: (_gatehouse_v1_Step)[];
}

export interface FlowPair__Output {
  'request': (_gatehouse_v1_Step__Output)[];
  'response': (_gatehouse_v1_Step__Output)[];
}
