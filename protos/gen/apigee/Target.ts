// Original file: protos/apigee/external_callout.proto


/**
 * target.*: read-only except copy_path_suffix, copy_query_params, expected_cn and url.
 */
export interface Target {
  'basePath'?: (string);
  'copyPathSuffix'?: (boolean);
  'copyQueryParams'?: (boolean);
  'country'?: (string);
  'cn'?: (string);
  'emailAddress'?: (string);
  'expectedCn'?: (string);
  'host'?: (string);
  'ip'?: (string);
  'locality'?: (string);
  'name'?: (string);
  'organization'?: (string);
  'organizationUnit'?: (string);
  'port'?: (number);
  'scheme'?: (string);
  'state'?: (string);
  'sslEnabled'?: (boolean);
  'url'?: (string);
}

/**
 * target.*: read-only except copy_path_suffix, copy_query_params, expected_cn and url.
 */
export interface Target__Output {
  'basePath': (string);
  'copyPathSuffix': (boolean);
  'copyQueryParams': (boolean);
  'country': (string);
  'cn': (string);
  'emailAddress': (string);
  'expectedCn': (string);
  'host': (string);
  'ip': (string);
  'locality': (string);
  'name': (string);
  'organization': (string);
  'organizationUnit': (string);
  'port': (number);
  'scheme': (string);
  'state': (string);
  'sslEnabled': (boolean);
  'url': (string);
}
