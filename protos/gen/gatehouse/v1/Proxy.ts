// Original file: protos/gatehouse/v1/runtime.proto

import type { Flows as _gatehouse_v1_Flows, Flows__Output as _gatehouse_v1_Flows__Output } from '../../gatehouse/v1/Flows.ts';
import type { FaultRule as _gatehouse_v1_FaultRule, FaultRule__Output as _gatehouse_v1_FaultRule__Output } from '../../gatehouse/v1/FaultRule.ts';
import type { DefaultFaultRule as _gatehouse_v1_DefaultFaultRule, DefaultFaultRule__Output as _gatehouse_v1_DefaultFaultRule__Output } from '../../gatehouse/v1/DefaultFaultRule.ts';
import type { Policy as _gatehouse_v1_Policy, Policy__Output as _gatehouse_v1_Policy__Output } from '../../gatehouse/v1/Policy.ts';
import type { Long } from '@grpc/proto-loader';

export interface Proxy {
  'namespace'?: (string);
  'name'?: (string);
  /**
   * "<namespace>/<name>": the value of the x-gatehouse-route gRPC metadata on its routes.
   */
  'route'?: (string);
  'basePath'?: (string);
  'hosts'?: (string)[];
  'stripBasePath'?: (boolean);
  /**
   * The target URL as the proxy sees it (target.url variable); for service targets the cluster name.
   */
  'targetUrl'?: (string);
  'flows'?: (_gatehouse_v1_Flows | null);
  'faultRules'?: (_gatehouse_v1_FaultRule)[];
  'defaultFaultRule'?: (_gatehouse_v1_DefaultFaultRule | null);
  /**
   * Every policy a step of this proxy names, keyed by policy name.
   */
  'policies'?: ({[key: string]: _gatehouse_v1_Policy});
  /**
   * Generation of the ApiProxy this was compiled from (for status).
   */
  'generation'?: (number | string | Long);
}

export interface Proxy__Output {
  'namespace': (string);
  'name': (string);
  /**
   * "<namespace>/<name>": the value of the x-gatehouse-route gRPC metadata on its routes.
   */
  'route': (string);
  'basePath': (string);
  'hosts': (string)[];
  'stripBasePath': (boolean);
  /**
   * The target URL as the proxy sees it (target.url variable); for service targets the cluster name.
   */
  'targetUrl': (string);
  'flows': (_gatehouse_v1_Flows__Output | null);
  'faultRules': (_gatehouse_v1_FaultRule__Output)[];
  'defaultFaultRule': (_gatehouse_v1_DefaultFaultRule__Output | null);
  /**
   * Every policy a step of this proxy names, keyed by policy name.
   */
  'policies': ({[key: string]: _gatehouse_v1_Policy__Output});
  /**
   * Generation of the ApiProxy this was compiled from (for status).
   */
  'generation': (string);
}
