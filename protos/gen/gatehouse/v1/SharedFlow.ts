// Original file: protos/gatehouse/v1/runtime.proto

import type { Step as _gatehouse_v1_Step, Step__Output as _gatehouse_v1_Step__Output } from '../../gatehouse/v1/Step.ts';
import type { Policy as _gatehouse_v1_Policy, Policy__Output as _gatehouse_v1_Policy__Output } from '../../gatehouse/v1/Policy.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * One SharedFlow object: steps run in the caller's phase, with the policies of its own namespace.
 */
export interface SharedFlow {
  'namespace'?: (string);
  'name'?: (string);
  'steps'?: (_gatehouse_v1_Step)[];
  /**
   * Every policy a step names, keyed by policy name (of the SharedFlow's namespace).
   */
  'policies'?: ({[key: string]: _gatehouse_v1_Policy});
  /**
   * Generation of the SharedFlow this was compiled from.
   */
  'generation'?: (number | string | Long);
}

/**
 * One SharedFlow object: steps run in the caller's phase, with the policies of its own namespace.
 */
export interface SharedFlow__Output {
  'namespace': (string);
  'name': (string);
  'steps': (_gatehouse_v1_Step__Output)[];
  /**
   * Every policy a step names, keyed by policy name (of the SharedFlow's namespace).
   */
  'policies': ({[key: string]: _gatehouse_v1_Policy__Output});
  /**
   * Generation of the SharedFlow this was compiled from.
   */
  'generation': (string);
}
