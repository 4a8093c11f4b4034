// Original file: protos/gatehouse/v1/runtime.proto

import type { Proxy as _gatehouse_v1_Proxy, Proxy__Output as _gatehouse_v1_Proxy__Output } from '../../gatehouse/v1/Proxy.ts';
import type { Product as _gatehouse_v1_Product, Product__Output as _gatehouse_v1_Product__Output } from '../../gatehouse/v1/Product.ts';
import type { App as _gatehouse_v1_App, App__Output as _gatehouse_v1_App__Output } from '../../gatehouse/v1/App.ts';
import type { DataPlane as _gatehouse_v1_DataPlane, DataPlane__Output as _gatehouse_v1_DataPlane__Output } from '../../gatehouse/v1/DataPlane.ts';
import type { Developer as _gatehouse_v1_Developer, Developer__Output as _gatehouse_v1_Developer__Output } from '../../gatehouse/v1/Developer.ts';
import type { KeyValueMap as _gatehouse_v1_KeyValueMap, KeyValueMap__Output as _gatehouse_v1_KeyValueMap__Output } from '../../gatehouse/v1/KeyValueMap.ts';
import type { SharedFlow as _gatehouse_v1_SharedFlow, SharedFlow__Output as _gatehouse_v1_SharedFlow__Output } from '../../gatehouse/v1/SharedFlow.ts';
import type { DebugSession as _gatehouse_v1_DebugSession, DebugSession__Output as _gatehouse_v1_DebugSession__Output } from '../../gatehouse/v1/DebugSession.ts';

export interface RuntimeSnapshot {
  /**
   * Content hash of everything below; same input, same version.
   */
  'version'?: (string);
  'proxies'?: (_gatehouse_v1_Proxy)[];
  'products'?: (_gatehouse_v1_Product)[];
  'apps'?: (_gatehouse_v1_App)[];
  'dataPlanes'?: (_gatehouse_v1_DataPlane)[];
  /**
   * Key of the HMAC-SHA256 that hashes consumer keys and secrets (hex). Per installation, so a
   * leaked snapshot gives no rainbow table across installations.
   */
  'credentialHashKey'?: (string);
  /**
   * Values of the Secret keys that policy configs name as {secretRef: {name, key}}, keyed
   * "<namespace>/<name>/<key>"; only those of the policies in proxies. In clear, because a policy
   * that sends a credential upstream (BasicAuthentication Encode) needs the value itself; kept out
   * of the configs so that nothing that shows a config (errors, logs, status) can show one.
   */
  'policySecrets'?: ({[key: string]: string});
  /**
   * The Developers the apps name (spec.developerRef), by namespace/name.
   */
  'developers'?: (_gatehouse_v1_Developer)[];
  /**
   * The KeyValueMaps of the namespaces of the proxies served (docs/api.md, KeyValueMap): their
   * declared entries, which KeyValueMapOperations reads under what Put and Delete changed in the store.
   */
  'keyValueMaps'?: (_gatehouse_v1_KeyValueMap)[];
  /**
   * The SharedFlows that FlowCallout steps of the proxies served (and of these flows) call, and the
   * ones the DataPlane's flow hooks name (docs/policies.md#flowcallout), by namespace/name.
   */
  'sharedFlows'?: (_gatehouse_v1_SharedFlow)[];
  /**
   * Active debug sessions (DebugSession objects; docs/operations.md#debug-sessions). extproc
   * captures the matching transactions of these proxies and reports them over DebugCaptureService
   * (debug.proto). Absent in every snapshot that has no active session, so tracing costs nothing then.
   */
  'debugSessions'?: (_gatehouse_v1_DebugSession)[];
}

export interface RuntimeSnapshot__Output {
  /**
   * Content hash of everything below; same input, same version.
   */
  'version': (string);
  'proxies': (_gatehouse_v1_Proxy__Output)[];
  'products': (_gatehouse_v1_Product__Output)[];
  'apps': (_gatehouse_v1_App__Output)[];
  'dataPlanes': (_gatehouse_v1_DataPlane__Output)[];
  /**
   * Key of the HMAC-SHA256 that hashes consumer keys and secrets (hex). Per installation, so a
   * leaked snapshot gives no rainbow table across installations.
   */
  'credentialHashKey': (string);
  /**
   * Values of the Secret keys that policy configs name as {secretRef: {name, key}}, keyed
   * "<namespace>/<name>/<key>"; only those of the policies in proxies. In clear, because a policy
   * that sends a credential upstream (BasicAuthentication Encode) needs the value itself; kept out
   * of the configs so that nothing that shows a config (errors, logs, status) can show one.
   */
  'policySecrets': ({[key: string]: string});
  /**
   * The Developers the apps name (spec.developerRef), by namespace/name.
   */
  'developers': (_gatehouse_v1_Developer__Output)[];
  /**
   * The KeyValueMaps of the namespaces of the proxies served (docs/api.md, KeyValueMap): their
   * declared entries, which KeyValueMapOperations reads under what Put and Delete changed in the store.
   */
  'keyValueMaps': (_gatehouse_v1_KeyValueMap__Output)[];
  /**
   * The SharedFlows that FlowCallout steps of the proxies served (and of these flows) call, and the
   * ones the DataPlane's flow hooks name (docs/policies.md#flowcallout), by namespace/name.
   */
  'sharedFlows': (_gatehouse_v1_SharedFlow__Output)[];
  /**
   * Active debug sessions (DebugSession objects; docs/operations.md#debug-sessions). extproc
   * captures the matching transactions of these proxies and reports them over DebugCaptureService
   * (debug.proto). Absent in every snapshot that has no active session, so tracing costs nothing then.
   */
  'debugSessions': (_gatehouse_v1_DebugSession__Output)[];
}
