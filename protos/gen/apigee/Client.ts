// Original file: protos/apigee/external_callout.proto


/**
 * client.* (all read-only).
 */
export interface Client {
  'cn'?: (string);
  'country'?: (string);
  'emailAddress'?: (string);
  'host'?: (string);
  'ip'?: (string);
  'locality'?: (string);
  'organization'?: (string);
  'organizationUnit'?: (string);
  'port'?: (number);
  'scheme'?: (string);
  'state'?: (string);
  'sslEnabled'?: (boolean);
}

/**
 * client.* (all read-only).
 */
export interface Client__Output {
  'cn': (string);
  'country': (string);
  'emailAddress': (string);
  'host': (string);
  'ip': (string);
  'locality': (string);
  'organization': (string);
  'organizationUnit': (string);
  'port': (number);
  'scheme': (string);
  'state': (string);
  'sslEnabled': (boolean);
}
