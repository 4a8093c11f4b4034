// Original file: protos/gatehouse/v1/runtime.proto

import type { Condition as _gatehouse_v1_Condition, Condition__Output as _gatehouse_v1_Condition__Output } from '../../gatehouse/v1/Condition.ts';

export interface Conditions {
  'items'?: (_gatehouse_v1_Condition)[];
}

export interface Conditions__Output {
  'items': (_gatehouse_v1_Condition__Output)[];
}
