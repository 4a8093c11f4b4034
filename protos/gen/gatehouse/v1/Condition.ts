// Original file: protos/gatehouse/v1/runtime.proto

import type { Conditions as _gatehouse_v1_Conditions, Conditions__Output as _gatehouse_v1_Conditions__Output } from '../../gatehouse/v1/Conditions.ts';
import type { Condition as _gatehouse_v1_Condition, Condition__Output as _gatehouse_v1_Condition__Output } from '../../gatehouse/v1/Condition.ts';
import type { Comparison as _gatehouse_v1_Comparison, Comparison__Output as _gatehouse_v1_Comparison__Output } from '../../gatehouse/v1/Comparison.ts';
import type { Operand as _gatehouse_v1_Operand, Operand__Output as _gatehouse_v1_Operand__Output } from '../../gatehouse/v1/Operand.ts';

/**
 * A condition parsed once at compile time (DESIGN 5).
 */
export interface Condition {
  /**
   * and
   */
  'all'?: (_gatehouse_v1_Conditions | null);
  /**
   * or
   */
  'any'?: (_gatehouse_v1_Conditions | null);
  'not'?: (_gatehouse_v1_Condition | null);
  'comparison'?: (_gatehouse_v1_Comparison | null);
  /**
   * A bare operand: true when the variable is set and not "false"/empty.
   */
  'truthy'?: (_gatehouse_v1_Operand | null);
  /**
   * The source text, for errors and debugging.
   */
  'source'?: (string);
  'kind'?: "all"|"any"|"not"|"comparison"|"truthy";
}

/**
 * A condition parsed once at compile time (DESIGN 5).
 */
export interface Condition__Output {
  /**
   * and
   */
  'all'?: (_gatehouse_v1_Conditions__Output | null);
  /**
   * or
   */
  'any'?: (_gatehouse_v1_Conditions__Output | null);
  'not'?: (_gatehouse_v1_Condition__Output | null);
  'comparison'?: (_gatehouse_v1_Comparison__Output | null);
  /**
   * A bare operand: true when the variable is set and not "false"/empty.
   */
  'truthy'?: (_gatehouse_v1_Operand__Output | null);
  /**
   * The source text, for errors and debugging.
   */
  'source': (string);
  'kind'?: "all"|"any"|"not"|"comparison"|"truthy";
}
