// Original file: protos/gatehouse/v1/runtime.proto

import type { Proxy as _gatehouse_v1_Proxy, Proxy__Output as _gatehouse_v1_Proxy__Output } from '../../gatehouse/v1/Proxy.ts';
import type { Product as _gatehouse_v1_Product, Product__Output as _gatehouse_v1_Product__Output } from '../../gatehouse/v1/Product.ts';
import type { App as _gatehouse_v1_App, App__Output as _gatehouse_v1_App__Output } from '../../gatehouse/v1/App.ts';
import type { DataPlane as _gatehouse_v1_DataPlane, DataPlane__Output as _gatehouse_v1_DataPlane__Output } from '../../gatehouse/v1/DataPlane.ts';
import type { Developer as _gatehouse_v1_Developer, Developer__Output as _gatehouse_v1_Developer__Output } from '../../gatehouse/v1/Developer.ts';

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
}
