// Original file: protos/gatehouse/v1/runtime.proto


/**
 * A DataPlane's flow hooks: each the "namespace/name" of a SharedFlow in shared_flows, or empty.
 * A name missing from shared_flows answers every request with flow.SharedFlowNotFound (fail closed).
 */
export interface FlowHooks {
  'preProxy'?: (string);
  'preTarget'?: (string);
  'postTarget'?: (string);
  'postProxy'?: (string);
}

/**
 * A DataPlane's flow hooks: each the "namespace/name" of a SharedFlow in shared_flows, or empty.
 * A name missing from shared_flows answers every request with flow.SharedFlowNotFound (fail closed).
 */
export interface FlowHooks__Output {
  'preProxy': (string);
  'preTarget': (string);
  'postTarget': (string);
  'postProxy': (string);
}
