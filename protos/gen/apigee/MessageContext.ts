// Original file: protos/apigee/external_callout.proto

import type { Request as _apigee_Request, Request__Output as _apigee_Request__Output } from '../apigee/Request.ts';
import type { Response as _apigee_Response, Response__Output as _apigee_Response__Output } from '../apigee/Response.ts';
import type { Error as _apigee_Error, Error__Output as _apigee_Error__Output } from '../apigee/Error.ts';
import type { Fault as _apigee_Fault, Fault__Output as _apigee_Fault__Output } from '../apigee/Fault.ts';
import type { ApiProxy as _apigee_ApiProxy, ApiProxy__Output as _apigee_ApiProxy__Output } from '../apigee/ApiProxy.ts';
import type { Client as _apigee_Client, Client__Output as _apigee_Client__Output } from '../apigee/Client.ts';
import type { CurrentFlow as _apigee_CurrentFlow, CurrentFlow__Output as _apigee_CurrentFlow__Output } from '../apigee/CurrentFlow.ts';
import type { Proxy as _apigee_Proxy, Proxy__Output as _apigee_Proxy__Output } from '../apigee/Proxy.ts';
import type { Route as _apigee_Route, Route__Output as _apigee_Route__Output } from '../apigee/Route.ts';
import type { Target as _apigee_Target, Target__Output as _apigee_Target__Output } from '../apigee/Target.ts';
import type { FlowVariable as _apigee_FlowVariable, FlowVariable__Output as _apigee_FlowVariable__Output } from '../apigee/FlowVariable.ts';

/**
 * The flow as a message: the request or response being processed plus the flow variables of the
 * variables reference. Changes to writable fields in the returned message are applied to the flow.
 */
export interface MessageContext {
  /**
   * Set on the request flows (proxy request, target request).
   */
  'request'?: (_apigee_Request | null);
  /**
   * Set on the response flows (target response, proxy response).
   */
  'response'?: (_apigee_Response | null);
  /**
   * Set only in the error flow.
   */
  'error'?: (_apigee_Error | null);
  /**
   * Set by the server to raise a fault: the flow enters the error flow with the error code
   * steps.externalcallout.{name} and the reason fault_string, whatever continueOnError says.
   * type and category are read-only.
   */
  'fault'?: (_apigee_Fault | null);
  'apiProxy'?: (_apigee_ApiProxy | null);
  /**
   * The client that sent the request to the gateway.
   */
  'client'?: (_apigee_Client | null);
  'currentFlow'?: (_apigee_CurrentFlow | null);
  /**
   * Read-only: messageid.
   */
  'messageId'?: (string);
  /**
   * Read-only: organization.name.
   */
  'organizationName'?: (string);
  /**
   * Read-only: environment.name.
   */
  'environmentName'?: (string);
  'proxy'?: (_apigee_Proxy | null);
  'route'?: (_apigee_Route | null);
  'target'?: (_apigee_Target | null);
  /**
   * Other flow variables, by flattened name (a.b.c). Sent: those the policy lists in
   * <FlowVariable> configurations. Returned: set on the flow; a FlowVariable with no value set
   * removes the variable (and, in Apigee, every variable under it as a prefix).
   */
  'additionalFlowVariables'?: ({[key: string]: _apigee_FlowVariable});
}

/**
 * The flow as a message: the request or response being processed plus the flow variables of the
 * variables reference. Changes to writable fields in the returned message are applied to the flow.
 */
export interface MessageContext__Output {
  /**
   * Set on the request flows (proxy request, target request).
   */
  'request': (_apigee_Request__Output | null);
  /**
   * Set on the response flows (target response, proxy response).
   */
  'response': (_apigee_Response__Output | null);
  /**
   * Set only in the error flow.
   */
  'error': (_apigee_Error__Output | null);
  /**
   * Set by the server to raise a fault: the flow enters the error flow with the error code
   * steps.externalcallout.{name} and the reason fault_string, whatever continueOnError says.
   * type and category are read-only.
   */
  'fault': (_apigee_Fault__Output | null);
  'apiProxy': (_apigee_ApiProxy__Output | null);
  /**
   * The client that sent the request to the gateway.
   */
  'client': (_apigee_Client__Output | null);
  'currentFlow': (_apigee_CurrentFlow__Output | null);
  /**
   * Read-only: messageid.
   */
  'messageId': (string);
  /**
   * Read-only: organization.name.
   */
  'organizationName': (string);
  /**
   * Read-only: environment.name.
   */
  'environmentName': (string);
  'proxy': (_apigee_Proxy__Output | null);
  'route': (_apigee_Route__Output | null);
  'target': (_apigee_Target__Output | null);
  /**
   * Other flow variables, by flattened name (a.b.c). Sent: those the policy lists in
   * <FlowVariable> configurations. Returned: set on the flow; a FlowVariable with no value set
   * removes the variable (and, in Apigee, every variable under it as a prefix).
   */
  'additionalFlowVariables': ({[key: string]: _apigee_FlowVariable__Output});
}
