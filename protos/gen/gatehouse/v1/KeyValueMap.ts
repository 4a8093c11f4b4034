// Original file: protos/gatehouse/v1/runtime.proto

import type { KeyValueMapValues as _gatehouse_v1_KeyValueMapValues, KeyValueMapValues__Output as _gatehouse_v1_KeyValueMapValues__Output } from '../../gatehouse/v1/KeyValueMapValues.ts';

/**
 * One KeyValueMap object: a map of one scope in one namespace.
 */
export interface KeyValueMap {
  'namespace'?: (string);
  /**
   * The map's name as policies name it (mapIdentifier): spec.mapName, default the object's name.
   */
  'mapName'?: (string);
  /**
   * organization, environment, apiproxy or policy (Apigee's scopes).
   */
  'scope'?: (string);
  /**
   * environment scope: the DataPlane region (environment.name) it belongs to.
   */
  'environment'?: (string);
  /**
   * apiproxy scope: the ApiProxy's name; policy scope: the ApiPolicy's name.
   */
  'proxy'?: (string);
  'policy'?: (string);
  /**
   * Encrypted: values come from Secrets and are read only into private.* variables.
   */
  'encrypted'?: (boolean);
  /**
   * Literal entries: key to values (one or more).
   */
  'entries'?: ({[key: string]: _gatehouse_v1_KeyValueMapValues});
  /**
   * Entries from Secrets: key to the policy_secrets id ("<namespace>/<secret>/<key>") holding the
   * value, so that values from Secrets stand in the snapshot only in policy_secrets.
   */
  'secretEntries'?: ({[key: string]: string});
  /**
   * The object's name (for errors).
   */
  'name'?: (string);
}

/**
 * One KeyValueMap object: a map of one scope in one namespace.
 */
export interface KeyValueMap__Output {
  'namespace': (string);
  /**
   * The map's name as policies name it (mapIdentifier): spec.mapName, default the object's name.
   */
  'mapName': (string);
  /**
   * organization, environment, apiproxy or policy (Apigee's scopes).
   */
  'scope': (string);
  /**
   * environment scope: the DataPlane region (environment.name) it belongs to.
   */
  'environment': (string);
  /**
   * apiproxy scope: the ApiProxy's name; policy scope: the ApiPolicy's name.
   */
  'proxy': (string);
  'policy': (string);
  /**
   * Encrypted: values come from Secrets and are read only into private.* variables.
   */
  'encrypted': (boolean);
  /**
   * Literal entries: key to values (one or more).
   */
  'entries': ({[key: string]: _gatehouse_v1_KeyValueMapValues__Output});
  /**
   * Entries from Secrets: key to the policy_secrets id ("<namespace>/<secret>/<key>") holding the
   * value, so that values from Secrets stand in the snapshot only in policy_secrets.
   */
  'secretEntries': ({[key: string]: string});
  /**
   * The object's name (for errors).
   */
  'name': (string);
}
