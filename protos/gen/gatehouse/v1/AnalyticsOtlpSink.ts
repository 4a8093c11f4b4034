// Original file: protos/gatehouse/v1/runtime.proto


/**
 * OTLP logs over gRPC: each record one LogRecord whose attributes are the record's fields.
 */
export interface AnalyticsOtlpSink {
  /**
   * host:port of the collector.
   */
  'endpoint'?: (string);
  /**
   * true: plain text; else TLS, verified with ca_secret (the system trust store when empty).
   */
  'insecure'?: (boolean);
  /**
   * policy_secrets ids ("<namespace>/<secret>/<key>") of the PEM CA bundle, client certificate and
   * key (mutual TLS); empty: none.
   */
  'caSecret'?: (string);
  'certSecret'?: (string);
  'keySecret'?: (string);
  /**
   * The name the collector's certificate is checked against, and the SNI; default the endpoint's host.
   */
  'serverName'?: (string);
}

/**
 * OTLP logs over gRPC: each record one LogRecord whose attributes are the record's fields.
 */
export interface AnalyticsOtlpSink__Output {
  /**
   * host:port of the collector.
   */
  'endpoint': (string);
  /**
   * true: plain text; else TLS, verified with ca_secret (the system trust store when empty).
   */
  'insecure': (boolean);
  /**
   * policy_secrets ids ("<namespace>/<secret>/<key>") of the PEM CA bundle, client certificate and
   * key (mutual TLS); empty: none.
   */
  'caSecret': (string);
  'certSecret': (string);
  'keySecret': (string);
  /**
   * The name the collector's certificate is checked against, and the SNI; default the endpoint's host.
   */
  'serverName': (string);
}
