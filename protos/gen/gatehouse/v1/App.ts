// Original file: protos/gatehouse/v1/runtime.proto

import type { AppProduct as _gatehouse_v1_AppProduct, AppProduct__Output as _gatehouse_v1_AppProduct__Output } from '../../gatehouse/v1/AppProduct.ts';
import type { Credential as _gatehouse_v1_Credential, Credential__Output as _gatehouse_v1_Credential__Output } from '../../gatehouse/v1/Credential.ts';

export interface App {
  'namespace'?: (string);
  'name'?: (string);
  'developerEmail'?: (string);
  'developerName'?: (string);
  'products'?: (_gatehouse_v1_AppProduct)[];
  'credentials'?: (_gatehouse_v1_Credential)[];
  /**
   * Approved | Revoked
   */
  'status'?: (string);
  'attributes'?: ({[key: string]: string});
  'callbackUrl'?: (string);
  /**
   * Name of the Developer (same namespace) that owns the app; empty: the developer is inline
   * (developer_email, developer_name) and active. Named but absent from developers: the reference does
   * not resolve and the app's keys are refused (DeveloperStatusNotActive).
   */
  'developerRef'?: (string);
}

export interface App__Output {
  'namespace': (string);
  'name': (string);
  'developerEmail': (string);
  'developerName': (string);
  'products': (_gatehouse_v1_AppProduct__Output)[];
  'credentials': (_gatehouse_v1_Credential__Output)[];
  /**
   * Approved | Revoked
   */
  'status': (string);
  'attributes': ({[key: string]: string});
  'callbackUrl': (string);
  /**
   * Name of the Developer (same namespace) that owns the app; empty: the developer is inline
   * (developer_email, developer_name) and active. Named but absent from developers: the reference does
   * not resolve and the app's keys are refused (DeveloperStatusNotActive).
   */
  'developerRef': (string);
}
