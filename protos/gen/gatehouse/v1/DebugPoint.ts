// Original file: protos/gatehouse/v1/debug.proto

import type { DebugVariable as _gatehouse_v1_DebugVariable, DebugVariable__Output as _gatehouse_v1_DebugVariable__Output } from '../../gatehouse/v1/DebugVariable.ts';
import type { DebugMessage as _gatehouse_v1_DebugMessage, DebugMessage__Output as _gatehouse_v1_DebugMessage__Output } from '../../gatehouse/v1/DebugMessage.ts';
import type { Long } from '@grpc/proto-loader';

/**
 * One point of the timeline, in order: a phase starting (the message as received), each policy step
 * (executed or skipped), a flow entered, a fault raised, the response sent.
 */
export interface DebugPoint {
  /**
   * PhaseStarted | FlowEntered | StepExecuted | StepSkipped | FaultRaised | ResponseSent
   */
  'kind'?: (string);
  /**
   * ProxyRequest | TargetRequest | TargetResponse | ProxyResponse | PostClientFlow | Fault
   */
  'phase'?: (string);
  /**
   * PreFlow, PostFlow, the conditional flow's name, a shared flow's "SharedFlow/NAME", a fault rule's name.
   */
  'flow'?: (string);
  'policy'?: (string);
  'policyType'?: (string);
  /**
   * executed | skipped (condition false) | fault | continued (continueOnError)
   */
  'outcome'?: (string);
  'faultCode'?: (string);
  /**
   * The step's condition source, when it has one, and its result.
   */
  'condition'?: (string);
  'conditionResult'?: (boolean);
  /**
   * Microseconds from the start of the transaction.
   */
  'elapsedUs'?: (number | string | Long);
  'durationUs'?: (number | string | Long);
  /**
   * Variables the step read and what it set (after masking).
   */
  'variablesRead'?: (_gatehouse_v1_DebugVariable)[];
  'variablesSet'?: (_gatehouse_v1_DebugVariable)[];
  'variablesRemoved'?: (_gatehouse_v1_DebugVariable)[];
  /**
   * The message this step works on, before and after it (only when it changed; always at PhaseStarted).
   */
  'messageBefore'?: (_gatehouse_v1_DebugMessage | null);
  'messageAfter'?: (_gatehouse_v1_DebugMessage | null);
}

/**
 * One point of the timeline, in order: a phase starting (the message as received), each policy step
 * (executed or skipped), a flow entered, a fault raised, the response sent.
 */
export interface DebugPoint__Output {
  /**
   * PhaseStarted | FlowEntered | StepExecuted | StepSkipped | FaultRaised | ResponseSent
   */
  'kind': (string);
  /**
   * ProxyRequest | TargetRequest | TargetResponse | ProxyResponse | PostClientFlow | Fault
   */
  'phase': (string);
  /**
   * PreFlow, PostFlow, the conditional flow's name, a shared flow's "SharedFlow/NAME", a fault rule's name.
   */
  'flow': (string);
  'policy': (string);
  'policyType': (string);
  /**
   * executed | skipped (condition false) | fault | continued (continueOnError)
   */
  'outcome': (string);
  'faultCode': (string);
  /**
   * The step's condition source, when it has one, and its result.
   */
  'condition': (string);
  'conditionResult': (boolean);
  /**
   * Microseconds from the start of the transaction.
   */
  'elapsedUs': (string);
  'durationUs': (string);
  /**
   * Variables the step read and what it set (after masking).
   */
  'variablesRead': (_gatehouse_v1_DebugVariable__Output)[];
  'variablesSet': (_gatehouse_v1_DebugVariable__Output)[];
  'variablesRemoved': (_gatehouse_v1_DebugVariable__Output)[];
  /**
   * The message this step works on, before and after it (only when it changed; always at PhaseStarted).
   */
  'messageBefore': (_gatehouse_v1_DebugMessage__Output | null);
  'messageAfter': (_gatehouse_v1_DebugMessage__Output | null);
}
