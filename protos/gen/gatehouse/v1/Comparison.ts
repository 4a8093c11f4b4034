// Original file: protos/gatehouse/v1/runtime.proto

import type { Operand as _gatehouse_v1_Operand, Operand__Output as _gatehouse_v1_Operand__Output } from '../../gatehouse/v1/Operand.ts';

// Original file: protos/gatehouse/v1/runtime.proto

export const _gatehouse_v1_Comparison_Operator = {
  OPERATOR_UNSPECIFIED: 'OPERATOR_UNSPECIFIED',
  /**
   * = == Equals Is
   */
  EQUALS: 'EQUALS',
  /**
   * != NotEquals IsNot
   */
  NOT_EQUALS: 'NOT_EQUALS',
  /**
   * >
   */
  GREATER: 'GREATER',
  /**
   * <
   */
  LESS: 'LESS',
  /**
   * >=
   */
  GREATER_OR_EQUAL: 'GREATER_OR_EQUAL',
  /**
   * <=
   */
  LESS_OR_EQUAL: 'LESS_OR_EQUAL',
  /**
   * MatchesPath ~/  (* one segment, ** any)
   */
  MATCHES_PATH: 'MATCHES_PATH',
  /**
   * Matches Like ~  (glob)
   */
  MATCHES: 'MATCHES',
  /**
   * JavaRegex ~~   (whole-string match, linear time)
   */
  JAVA_REGEX: 'JAVA_REGEX',
  /**
   * StartsWith =|
   */
  STARTS_WITH: 'STARTS_WITH',
  /**
   * EqualsCaseInsensitive :=
   */
  EQUALS_CASE_INSENSITIVE: 'EQUALS_CASE_INSENSITIVE',
} as const;

export type _gatehouse_v1_Comparison_Operator =
  | 'OPERATOR_UNSPECIFIED'
  | 0
  /**
   * = == Equals Is
   */
  | 'EQUALS'
  | 1
  /**
   * != NotEquals IsNot
   */
  | 'NOT_EQUALS'
  | 2
  /**
   * >
   */
  | 'GREATER'
  | 3
  /**
   * <
   */
  | 'LESS'
  | 4
  /**
   * >=
   */
  | 'GREATER_OR_EQUAL'
  | 5
  /**
   * <=
   */
  | 'LESS_OR_EQUAL'
  | 6
  /**
   * MatchesPath ~/  (* one segment, ** any)
   */
  | 'MATCHES_PATH'
  | 7
  /**
   * Matches Like ~  (glob)
   */
  | 'MATCHES'
  | 8
  /**
   * JavaRegex ~~   (whole-string match, linear time)
   */
  | 'JAVA_REGEX'
  | 9
  /**
   * StartsWith =|
   */
  | 'STARTS_WITH'
  | 10
  /**
   * EqualsCaseInsensitive :=
   */
  | 'EQUALS_CASE_INSENSITIVE'
  | 11

export type _gatehouse_v1_Comparison_Operator__Output = typeof _gatehouse_v1_Comparison_Operator[keyof typeof _gatehouse_v1_Comparison_Operator]

export interface Comparison {
  'operator'?: (_gatehouse_v1_Comparison_Operator);
  'left'?: (_gatehouse_v1_Operand | null);
  'right'?: (_gatehouse_v1_Operand | null);
}

export interface Comparison__Output {
  'operator': (_gatehouse_v1_Comparison_Operator__Output);
  'left': (_gatehouse_v1_Operand__Output | null);
  'right': (_gatehouse_v1_Operand__Output | null);
}
