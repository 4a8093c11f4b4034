// Original file: protos/gatehouse/v1/runtime.proto

import type { Condition as _gatehouse_v1_Condition, Condition__Output as _gatehouse_v1_Condition__Output } from '../../gatehouse/v1/Condition.ts';

export interface Step {
  'policy'?: (string);
  'condition'?: (_gatehouse_v1_Condition | null);
}

export interface Step__Output {
  'policy': (string);
  'condition': (_gatehouse_v1_Condition__Output | null);
}
