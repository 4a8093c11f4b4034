// Original file: protos/gatehouse/v1/runtime.proto

import type { Step as _gatehouse_v1_Step, Step__Output as _gatehouse_v1_Step__Output } from '../../gatehouse/v1/Step.ts';

export interface DefaultFaultRule {
  'steps'?: (_gatehouse_v1_Step)[];
  'alwaysEnforce'?: (boolean);
}

export interface DefaultFaultRule__Output {
  'steps': (_gatehouse_v1_Step__Output)[];
  'alwaysEnforce': (boolean);
}
