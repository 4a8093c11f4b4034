// Original file: protos/gatehouse/v1/runtime.proto


/**
 * Apigee's debug mask (<Mask>): what is replaced by "********" before a capture leaves extproc.
 */
export interface DebugMask {
  'jsonPathsRequest'?: (string)[];
  'jsonPathsResponse'?: (string)[];
  'jsonPathsFault'?: (string)[];
  'xpathsRequest'?: (string)[];
  'xpathsResponse'?: (string)[];
  'xpathsFault'?: (string)[];
  /**
   * Prefix -> namespace URI for the XPaths.
   */
  'namespaces'?: ({[key: string]: string});
  /**
   * Flow variable names.
   */
  'variables'?: (string)[];
  /**
   * Header names (case-insensitive), request and response.
   */
  'headers'?: (string)[];
}

/**
 * Apigee's debug mask (<Mask>): what is replaced by "********" before a capture leaves extproc.
 */
export interface DebugMask__Output {
  'jsonPathsRequest': (string)[];
  'jsonPathsResponse': (string)[];
  'jsonPathsFault': (string)[];
  'xpathsRequest': (string)[];
  'xpathsResponse': (string)[];
  'xpathsFault': (string)[];
  /**
   * Prefix -> namespace URI for the XPaths.
   */
  'namespaces': ({[key: string]: string});
  /**
   * Flow variable names.
   */
  'variables': (string)[];
  /**
   * Header names (case-insensitive), request and response.
   */
  'headers': (string)[];
}
