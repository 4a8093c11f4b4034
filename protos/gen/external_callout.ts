import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { ApiProxy as _apigee_ApiProxy, ApiProxy__Output as _apigee_ApiProxy__Output } from './apigee/ApiProxy.ts';
import type { Client as _apigee_Client, Client__Output as _apigee_Client__Output } from './apigee/Client.ts';
import type { CurrentFlow as _apigee_CurrentFlow, CurrentFlow__Output as _apigee_CurrentFlow__Output } from './apigee/CurrentFlow.ts';
import type { Error as _apigee_Error, Error__Output as _apigee_Error__Output } from './apigee/Error.ts';
import type { ExternalCalloutServiceClient as _apigee_ExternalCalloutServiceClient, ExternalCalloutServiceDefinition as _apigee_ExternalCalloutServiceDefinition } from './apigee/ExternalCalloutService.ts';
import type { Fault as _apigee_Fault, Fault__Output as _apigee_Fault__Output } from './apigee/Fault.ts';
import type { FlowVariable as _apigee_FlowVariable, FlowVariable__Output as _apigee_FlowVariable__Output } from './apigee/FlowVariable.ts';
import type { MessageContext as _apigee_MessageContext, MessageContext__Output as _apigee_MessageContext__Output } from './apigee/MessageContext.ts';
import type { Policy as _apigee_Policy, Policy__Output as _apigee_Policy__Output } from './apigee/Policy.ts';
import type { Proxy as _apigee_Proxy, Proxy__Output as _apigee_Proxy__Output } from './apigee/Proxy.ts';
import type { Request as _apigee_Request, Request__Output as _apigee_Request__Output } from './apigee/Request.ts';
import type { Response as _apigee_Response, Response__Output as _apigee_Response__Output } from './apigee/Response.ts';
import type { Route as _apigee_Route, Route__Output as _apigee_Route__Output } from './apigee/Route.ts';
import type { Strings as _apigee_Strings, Strings__Output as _apigee_Strings__Output } from './apigee/Strings.ts';
import type { Target as _apigee_Target, Target__Output as _apigee_Target__Output } from './apigee/Target.ts';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  apigee: {
    ApiProxy: MessageTypeDefinition<_apigee_ApiProxy, _apigee_ApiProxy__Output>
    Client: MessageTypeDefinition<_apigee_Client, _apigee_Client__Output>
    CurrentFlow: MessageTypeDefinition<_apigee_CurrentFlow, _apigee_CurrentFlow__Output>
    Error: MessageTypeDefinition<_apigee_Error, _apigee_Error__Output>
    ExternalCalloutService: SubtypeConstructor<typeof grpc.Client, _apigee_ExternalCalloutServiceClient> & { service: _apigee_ExternalCalloutServiceDefinition }
    Fault: MessageTypeDefinition<_apigee_Fault, _apigee_Fault__Output>
    FlowVariable: MessageTypeDefinition<_apigee_FlowVariable, _apigee_FlowVariable__Output>
    MessageContext: MessageTypeDefinition<_apigee_MessageContext, _apigee_MessageContext__Output>
    Policy: MessageTypeDefinition<_apigee_Policy, _apigee_Policy__Output>
    Proxy: MessageTypeDefinition<_apigee_Proxy, _apigee_Proxy__Output>
    Request: MessageTypeDefinition<_apigee_Request, _apigee_Request__Output>
    Response: MessageTypeDefinition<_apigee_Response, _apigee_Response__Output>
    Route: MessageTypeDefinition<_apigee_Route, _apigee_Route__Output>
    Strings: MessageTypeDefinition<_apigee_Strings, _apigee_Strings__Output>
    Target: MessageTypeDefinition<_apigee_Target, _apigee_Target__Output>
  }
}

