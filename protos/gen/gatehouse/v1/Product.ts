// Original file: protos/gatehouse/v1/runtime.proto

import type { ProductQuota as _gatehouse_v1_ProductQuota, ProductQuota__Output as _gatehouse_v1_ProductQuota__Output } from '../../gatehouse/v1/ProductQuota.ts';

export interface Product {
  'namespace'?: (string);
  'name'?: (string);
  'displayName'?: (string);
  /**
   * Proxy names in the product's namespace.
   */
  'proxies'?: (string)[];
  /**
   * Path patterns relative to the proxy base path: "/", "/*", "/**", "/a/* /b".
   */
  'resources'?: (string)[];
  /**
   * Empty: every method.
   */
  'methods'?: (string)[];
  'quota'?: (_gatehouse_v1_ProductQuota | null);
  'scopes'?: (string)[];
  'approval'?: (string);
  'attributes'?: ({[key: string]: string});
}

export interface Product__Output {
  'namespace': (string);
  'name': (string);
  'displayName': (string);
  /**
   * Proxy names in the product's namespace.
   */
  'proxies': (string)[];
  /**
   * Path patterns relative to the proxy base path: "/", "/*", "/**", "/a/* /b".
   */
  'resources': (string)[];
  /**
   * Empty: every method.
   */
  'methods': (string)[];
  'quota': (_gatehouse_v1_ProductQuota__Output | null);
  'scopes': (string)[];
  'approval': (string);
  'attributes': ({[key: string]: string});
}
