// Original file: protos/apigee/external_callout.proto


/**
 * proxy.* (all read-only).
 */
export interface Proxy {
  'endpointName'?: (string);
  'clientIp'?: (string);
  'basePath'?: (string);
  'pathSuffix'?: (string);
  'url'?: (string);
}

/**
 * proxy.* (all read-only).
 */
export interface Proxy__Output {
  'endpointName': (string);
  'clientIp': (string);
  'basePath': (string);
  'pathSuffix': (string);
  'url': (string);
}
