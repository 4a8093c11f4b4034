// Original file: protos/gatehouse/v1/runtime.proto

import type { Condition as _gatehouse_v1_Condition, Condition__Output as _gatehouse_v1_Condition__Output } from '../../gatehouse/v1/Condition.ts';
import type { Step as _gatehouse_v1_Step, Step__Output as _gatehouse_v1_Step__Output } from '../../gatehouse/v1/Step.ts';

export interface ConditionalFlow {
  'name'?: (string);
  /**
   * Absent: always matches.
   */
  'condition'?: (_gatehouse_v1_Condition | null);
  'request'?: (_gatehouse_v1_Step)[];
  'response'?: (_gatehouse_v1_Step)[];
}

export interface ConditionalFlow__Output {
  'name': (string);
  /**
   * Absent: always matches.
   */
  'condition': (_gatehouse_v1_Condition__Output | null);
  'request': (_gatehouse_v1_Step__Output)[];
  'response': (_gatehouse_v1_Step__Output)[];
}
