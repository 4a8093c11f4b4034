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
}
