// The catalogue of every error code Gatehouse uses (docs/errors.md is generated from it by
// scripts/gen-error-docs.ts). Pure data. lib/error-codes.test.ts scans the source tree: every code
// literal must be here, every entry here must be used, and every GatehouseError subclass's code and
// exit code must match its entry.

/**
 * - `error`: a GatehouseError thrown inside a process; the operator and extproc log it, a command
 *   that ends with it exits with `exitCode`.
 * - `diagnostic`: a problem `gatehouse compile`, the folder source or a status condition reports
 *   about a manifest (GH_WARN_* are warnings and do not stop the object).
 * - `fault`: the code a client sees in a fault response `{"fault":{"detail":{"errorcode":...}}}`
 *   and the `error.code` / `fault.name` variables fault rules test (docs/policies.md, Faults).
 */
export type ErrorFamily = 'error' | 'diagnostic' | 'fault';

export interface ErrorCodeEntry {
  code: string;
  family: ErrorFamily;
  /** The part of Gatehouse that raises it; docs/errors.md has a table per family and area. */
  area: string;
  /** HTTP status of the fault response (faults only). */
  httpStatus?: number;
  /** What to add to the status, or the status when it is not fixed ("the configured statusCode"). */
  statusNote?: string;
  /** Exit code when the error ends a command (errors only): 1 invalid input, 2 usage or unavailable. */
  exitCode?: number;
  meaning: string;
  /** Apigee's code for the same failure, when there is one. */
  apigee?: string;
}

const error = (area: string, code: string, meaning: string, exitCode = 1): ErrorCodeEntry => ({
  code,
  family: 'error',
  area,
  exitCode,
  meaning,
});

const diagnostic = (area: string, code: string, meaning: string, exitCode?: number): ErrorCodeEntry =>
  exitCode === undefined
    ? { code, family: 'diagnostic', area, meaning }
    : { code, family: 'diagnostic', area, exitCode, meaning };

const fault = (
  area: string,
  code: string,
  httpStatus: number | undefined,
  meaning: string,
  more: { apigee?: string; statusNote?: string } = {},
): ErrorCodeEntry => ({
  code,
  family: 'fault',
  area,
  ...(httpStatus === undefined ? {} : { httpStatus }),
  ...more,
  meaning,
});

/** Fault codes that are Apigee's own: the Apigee equivalent is the code itself. */
const apigee = (code: string) => ({ apigee: code });

export const errorCodes: readonly ErrorCodeEntry[] = [
  // --- errors: the command line ---
  error('cli', 'GH_ERR_USAGE', 'A command line that cannot be run: unknown flag, missing value, bad port.', 2),
  error('cli', 'GH_ERR_NOT_AVAILABLE', 'A command, or a part of one, that this build does not have yet.', 2),
  error('cli', 'GH_ERR_DEV_PART_EXITED', 'A part of `gatehouse dev` (operator, extproc, devproxy) stopped on its own.'),

  error(
    'cli',
    'GH_ERR_TRACING_ENDPOINT',
    'An OTLP endpoint (--otlp-endpoint, OTEL_EXPORTER_OTLP_ENDPOINT) that is not host:port or http://host:port.',
    2,
  ),

  error(
    'cli',
    'GH_ERR_TRACE_NOT_FOUND',
    '`gatehouse trace get` or `stop`: no DebugSession of that name or id in the namespace.',
  ),

  // --- errors: TLS, shared by every process ---
  error('tls', 'GH_ERR_TLS_FILE', 'A certificate, key or CA file cannot be read.'),
  error('tls', 'GH_ERR_TLS_MATERIAL', 'A certificate or key that does not parse (bad PEM, no block, unsupported key).'),
  error('tls', 'GH_ERR_TLS_KEY_MISMATCH', 'The private key does not match the certificate.'),
  error(
    'tls',
    'GH_ERR_TLS_POLICY',
    'TLS settings that cannot work: unknown version, min above max, unknown cipher.',
    2,
  ),
  error(
    'tls',
    'GH_ERR_TLS_UNKNOWN_AUTHORITY',
    "The peer's certificate is signed by a CA this side does not trust (the message names the issuer).",
  ),
  error(
    'tls',
    'GH_ERR_TLS_PEER_NAME_MISMATCH',
    "The peer's certificate is for another name or address than the one dialled.",
  ),
  error('tls', 'GH_ERR_TLS_PEER_CERT_REQUIRED', 'mTLS: the peer presented no certificate although one is required.'),
  error(
    'tls',
    'GH_ERR_TLS_PEER_CERT_INVALID',
    "The peer's certificate is rejected: expired, not yet valid, wrong usage.",
  ),
  error('tls', 'GH_ERR_TLS_HANDSHAKE', 'The handshake failed: no common version or cipher suite, a reset, a timeout.'),

  // --- errors: operator ---
  error(
    'operator/kube',
    'GH_ERR_KUBE_CONFIG',
    'No usable cluster configuration (flag, in-cluster, $KUBECONFIG, ~/.kube/config).',
    2,
  ),
  error('operator/kube', 'GH_ERR_KUBE_API', 'The apiserver answered a request with an error status.'),
  error(
    'operator/kube',
    'GH_ERR_KUBE_CONNECTION',
    'The apiserver could not be reached, or a request or watch timed out.',
  ),
  error('operator/kube', 'GH_ERR_KUBE_PROTOCOL', 'A response or watch frame that is not the JSON the apiserver sends.'),
  error(
    'operator/kube',
    'GH_ERR_KUBE_INFORMER_STOPPED',
    'An informer was stopped before its first list filled the cache.',
  ),
  error(
    'operator/kube',
    'GH_ERR_KUBE_SELECTOR',
    'A label or field selector that does not parse, or a field selector an informer cache cannot evaluate.',
  ),
  error(
    'operator/kube',
    'GH_ERR_KUBE_INFORMER_FACTORY',
    'The informer factory used against its rules: one informer name for two different watches.',
  ),
  error(
    'operator/kube',
    'GH_ERR_KUBE_LEADER_ELECTION_CONFIG',
    'Leader election timings that cannot work (leaseDuration > renewDeadline > retryPeriod).',
    2,
  ),
  error(
    'operator/debug',
    'GH_ERR_DEBUG_CAPTURE_REFUSED',
    'A debug capture report the operator refuses (gRPC status with this code in the message): an unknown or ended session, a node whose DataPlane does not serve its proxy, or a report over the size or transaction bounds.',
  ),
  error('operator/kube', 'GH_ERR_KUBE_WORKQUEUE', 'A work queue used against its rules (run twice).'),
  error('operator/certs', 'GH_ERR_CERTS_PARSE', 'A PEM block that is not a certificate or key the operator can read.'),
  error(
    'operator/certs',
    'GH_ERR_CERTS_CA',
    'A CA the operator cannot sign with: not a CA, key mismatch, unsupported key, expired.',
  ),
  error('operator/certs', 'GH_ERR_CERTS_ISSUE', 'Issuing a certificate failed (signing, or unusable names).'),
  error('operator/certs', 'GH_ERR_CERTS_SECRET_WRITE', 'A certificate Secret could not be written.'),
  error(
    'operator/certs',
    'GH_ERR_CERTS_NOT_READY',
    'Something a reconcile reads is not in the caches yet; retried with backoff.',
  ),
  error(
    'operator/certs',
    'GH_ERR_XDS_TLS_UNAVAILABLE',
    '--xds-tls issued without the certificates controller (it runs with --manage-dataplanes).',
    2,
  ),
  error(
    'operator/admission',
    'GH_ERR_ADMISSION_REVIEW',
    'A request to the validating webhook that is not an admission.k8s.io/v1 AdmissionReview with a request (answered 400).',
  ),
  error(
    'operator/admission',
    'GH_ERR_ADMISSION_CA_BUNDLE',
    "The ValidatingWebhookConfiguration's caBundle could not be read or patched; the leader retries with backoff.",
  ),
  error(
    'operator/xds',
    'GH_ERR_ENVOY_PROTO',
    'An Envoy resource the compiler built does not encode as its proto type.',
  ),
  error(
    'operator/xds',
    'GH_ERR_XDS_SECRET_ENCODE',
    'An SDS Secret does not encode (the message names the resource only).',
  ),
  error(
    'operator/source',
    'GH_ERR_CREDENTIAL_KEY_MISSING',
    'Kube mode found no credential hash key Secret and was not told to use the public development key.',
    2,
  ),
  error('operator/controllers', 'GH_ERR_DATAPLANE_APPLY', 'Some objects a DataPlane owns could not be applied.'),
  error('operator/controllers', 'GH_ERR_DATAPLANE_KIND', 'A kind the DataPlane controller does not manage (a bug).'),
  error(
    'operator/controllers',
    'GH_ERR_REMEDIATION_DEEP_CHECK',
    "A pod's deep health check (health or ext_proc) failed.",
  ),
  error(
    'operator/controllers',
    'GH_ERR_REMEDIATION_ACTION',
    "Some of a reconcile's remediation actions failed; retried.",
  ),

  // --- errors: policy configuration shared by operator and extproc ---
  error(
    'protos/policies',
    'GH_ERR_TEMPLATE_SYNTAX',
    'A message template that breaks the grammar (braces, reference, argument list).',
  ),
  error('protos/policies', 'GH_ERR_TEMPLATE_FUNCTION', 'A template calls a function Gatehouse does not have.'),
  error(
    'protos/policies',
    'GH_ERR_TEMPLATE_ARGUMENT',
    'A template function with the wrong number or kind of arguments.',
  ),
  error(
    'protos/policies',
    'GH_ERR_TIME_FORMAT',
    'A date/time pattern with a letter the formatter does not render, or a bad quote.',
  ),

  // --- errors: extproc ---
  error(
    'extproc',
    'GH_ERR_SNAPSHOT_INVALID',
    'A runtime snapshot that does not decode; extproc keeps the last good one.',
  ),
  error('extproc', 'GH_ERR_PROXY_INVALID', 'An API proxy in the snapshot that cannot be compiled into a flow.'),
  error('extproc', 'GH_ERR_CONDITION_INVALID', 'A step or flow condition that does not parse.'),
  error(
    'policies/security',
    'GH_ERR_OAUTH_REQUEST',
    'A token-endpoint request an OAuthV2 step refuses; the step answers with its OAuth error (see the oauth.v2.* faults) and never logs it as a failure.',
  ),
  error(
    'extproc',
    'GH_ERR_POLICY_CONFIG',
    'A policy config that passed the schema but cannot run (bad CIDR, regex RE2 cannot compile).',
  ),
  error(
    'extproc',
    'GH_ERR_CALLOUT_TLS',
    "An ExternalCallout's TLS material cannot be used (bad PEM, a key that does not match its certificate); the step answers steps.externalcallout.GrpcTlsInitFailed.",
  ),
  error(
    'extproc',
    'GH_ERR_CALLOUT_FAILED',
    'An ExternalCallout call failed (server unreachable or killed, deadline passed, reply too large, an error status); the step answers steps.externalcallout.ExecutionError.',
  ),
  error('extproc', 'GH_ERR_POLICY_FAULT', "A policy's fault; the client sees its fault code (see the faults below)."),
  error(
    'extproc',
    'GH_ERR_TOKEN_DECODE',
    'A JWT or JWS that does not decode (too long, not base64url, not JSON, a member named twice); its policy answers FailedToDecode.',
  ),
  error(
    'extproc',
    'GH_ERR_KEYS_UNAVAILABLE',
    'A JWKS URL or OpenID discovery document that cannot be fetched (refused address, timeout, too large, not a key set) with no cached keys within their stale bound; VerifyJWT/VerifyJWS answer UnknownException.',
  ),
  error(
    'extproc',
    'GH_ERR_EGRESS_REFUSED',
    "An outbound call (ServiceCallout) to a link-local, metadata or unspecified address, or a private one outside the DataPlane's spec.upstream.calloutPrivateNetworks, checked on the address the name resolves to; its policy answers steps.servicecallout.ExecutionFailed.",
  ),
  error('extproc', 'GH_ERR_EGRESS_TIMEOUT', 'An outbound call that did not connect, or did not finish, in time.'),
  error(
    'extproc',
    'GH_ERR_EGRESS_TLS',
    "An outbound call whose TLS handshake failed: the server's certificate untrusted, expired or for another name, or the client certificate refused.",
  ),
  error(
    'extproc',
    'GH_ERR_EGRESS_CONNECT',
    'An outbound call whose connection failed: refused, reset, unreachable, name not found, cut off.',
  ),
  error('extproc', 'GH_ERR_EGRESS_RESPONSE_TOO_LARGE', 'An outbound call whose response body is over its cap.'),
  error(
    'extproc',
    'GH_ERR_EGRESS_INVALID_URL',
    'An outbound call to something that is not an http: or https: URL, or a URL with credentials in it.',
  ),
  error('extproc', 'GH_ERR_MERGED_STEP', 'A step of a merged admission step failed; carries the step and its error.'),
  error(
    'extproc',
    'GH_ERR_BODY_PARSE',
    'A body that is not what its content type says; answered with `gatehouse.InvalidBody`.',
  ),
  error(
    'extproc',
    'GH_ERR_DUPLICATE_CONTENT_TYPE',
    'A Content-Type naming several media types; answered with `protocol.http.DuplicateHeader`.',
  ),
  error(
    'extproc',
    'GH_ERR_MALFORMED_CONTENT_TYPE',
    'A Content-Type that is not type/subtype; answered with `gatehouse.InvalidContentType`.',
  ),
  error(
    'extproc',
    'GH_ERR_REFUSED_CHANGE',
    'A policy changed what Envoy would not apply (a pseudo or x-envoy header, CR/LF/NUL in a value, a bad verb, path or status); answered with `gatehouse.RefusedChange`.',
  ),
  error(
    'extproc',
    'GH_ERR_JSON_VIOLATION',
    'A JSON body breaks a JSONThreatProtection limit; answered with steps.jsonthreatprotection.ExecutionFailed.',
  ),
  error(
    'extproc',
    'GH_ERR_CONVERSION',
    'A JSONToXML input is empty, too deep or converts past the output bound; answered with steps.jsontoxml.ExecutionFailed.',
  ),
  error(
    'extproc',
    'GH_ERR_XML_VIOLATION',
    'An XML body breaks an XML limit or is malformed; answered with a threat.xml.* fault.',
  ),
  error(
    'extproc',
    'GH_ERR_EXTPROC_PROTOCOL',
    'An ext_proc stream out of order; the stream ends with INVALID_ARGUMENT or FAILED_PRECONDITION.',
  ),
  error(
    'extproc/server',
    'GH_ERR_EXTPROC_STREAM_LIMIT',
    'A connection opened more ext_proc streams than `--max-connection-streams`.',
  ),
  error('extproc/server', 'GH_ERR_EXTPROC_STREAM_IDLE', 'An ext_proc stream sent no message within the idle timeout.'),
  error('extproc/workers', 'GH_ERR_WORKER_TASK', 'A policy task on the worker pool failed.'),
  error('extproc/workers', 'GH_ERR_WORKER_CRASHED', 'A worker exited while running a task; the pool starts another.'),
  error('extproc/workers', 'GH_ERR_WORKER_POOL_CLOSED', 'A task was given to a worker pool that is shutting down.'),
  error('extproc/workers', 'GH_ERR_UNKNOWN_TASK', 'A task name the worker task table does not have.'),
  error('policies', 'GH_ERR_JSONPATH_SYNTAX', 'A JSONPath expression that does not parse.'),
  error(
    'policies',
    'GH_ERR_JAVASCRIPT_HOST_CALL',
    'A JavaScript object-model call the host refused (a bad argument, no response in the request flow, a value too large); the script gets it as an Error.',
  ),
  error('extproc/stores', 'GH_ERR_REDIS_URL', 'A --redis-url that cannot be used (scheme, mode, missing hosts).'),
  error('extproc/stores', 'GH_ERR_REDIS_DEADLINE', 'Redis did not answer within its deadline (counted as a timeout).'),
  error(
    'extproc/stores',
    'GH_ERR_STORE_UNAVAILABLE',
    'Redis cannot answer and redis.onUnavailable is FailClosed; answered with `gatehouse.StoreUnavailable`.',
  ),

  // --- errors: devproxy (and the Envoy side of ext_proc, which the e2e suites drive) ---
  error(
    'devproxy',
    'GH_ERR_DEVPROXY_CONFIG_REJECTED',
    'An xDS resource devproxy cannot apply, as Envoy would reject it: NACKed.',
  ),
  error('devproxy', 'GH_ERR_DEVPROXY_LISTENER_BIND', 'A listener address that could not be bound.'),
  error(
    'devproxy',
    'GH_ERR_DEVPROXY_EXT_PROC_MESSAGE_TIMEOUT',
    'No ext_proc reply within message_timeout (Filter::onMessageTimeout): 504, or failure_mode_allow continues.',
  ),
  error(
    'devproxy',
    'GH_ERR_DEVPROXY_EXT_PROC_GRPC',
    'The ext_proc server ended the stream with a gRPC error (Filter::onGrpcError): 500, or failure_mode_allow continues.',
  ),
  error(
    'devproxy',
    'GH_ERR_DEVPROXY_EXT_PROC_STREAM_CLOSED',
    'The ext_proc server closed the stream with OK while a reply was awaited (Filter::onGrpcClose): the request continues.',
  ),
  error(
    'devproxy',
    'GH_ERR_DEVPROXY_EXT_PROC_SPURIOUS_MESSAGE',
    'An ext_proc reply Envoy was not waiting for, of the wrong kind or with nothing set: 500, or failure_mode_allow continues.',
  ),
  error(
    'devproxy',
    'GH_ERR_DEVPROXY_EXT_PROC_MUTATION_REJECTED',
    'A header mutation the mutation rules refuse with disallow_is_error: 500 even with failure_mode_allow.',
  ),
  error(
    'devproxy',
    'GH_ERR_DEVPROXY_EXT_PROC_INVALID_MUTATION',
    'A header mutation Envoy cannot apply (invalid name or value, value and raw_value both set, too many headers): 500 even with failure_mode_allow.',
  ),
  error(
    'devproxy',
    'GH_ERR_DEVPROXY_EXT_PROC_CONTENT_LENGTH_MISMATCH',
    'A buffered body replaced under a content-length that does not match it (ProcessorState::validateContentLength): 500.',
  ),
  error(
    'devproxy',
    'GH_ERR_DEVPROXY_EXT_PROC_UNAVAILABLE',
    'The ext_proc stream could not be opened (no healthy ext_proc host): handled as a gRPC UNAVAILABLE.',
  ),

  // --- errors: the test environment ---
  error(
    'e2e',
    'GH_ERR_TESTENV_TOOL_MISSING',
    'A tool the test environment needs (go, apt-get, redis-server) is missing.',
    2,
  ),
  error(
    'e2e',
    'GH_ERR_TEST_IMAGE_LAYOUT',
    'The Dockerfile or .dockerignore says something the image-layout test cannot read.',
  ),
  error('e2e', 'GH_ERR_TESTENV_START', 'A test service (etcd, kube-apiserver, redis) did not start in time.', 2),
  error(
    'e2e',
    'GH_ERR_TESTENV_TIMEOUT',
    'Something the tests wait for (an audit event, a token) did not happen in time.',
    2,
  ),
  error(
    'e2e',
    'GH_ERR_TESTENV_REQUEST',
    'A request the environment makes for the tests (apply, token, helm) failed.',
    2,
  ),

  // --- errors: gatehouse import apigee ---
  error(
    'import',
    'GH_ERR_IMPORT_XML',
    'An XML file of an Apigee bundle does not parse, or has a DOCTYPE (file and line given); nothing is written for that bundle.',
  ),
  error(
    'import',
    'GH_ERR_IMPORT_NOT_A_BUNDLE',
    'A path that is not an Apigee proxy bundle (apiproxy/), shared-flow bundle, .zip of one or folder of them.',
  ),
  error(
    'import',
    'GH_ERR_IMPORT_ZIP',
    'A bundle .zip refused before extraction: not a zip, more entries or more uncompressed bytes than the limits (zip bombs).',
  ),
  error(
    'import',
    'GH_ERR_IMPORT_UNSAFE_PATH',
    'A zip entry or symbolic link in a bundle whose path leaves the bundle (../, absolute, backslashes); nothing is written for that bundle.',
  ),

  // --- diagnostics: the folder source ---
  diagnostic('source', 'GH_ERR_SOURCE_READ', 'A manifest file or folder cannot be read.', 1),
  diagnostic('source', 'GH_ERR_SOURCE_OUTSIDE', 'A symbolic link pointing outside the manifests folder; not read.'),
  diagnostic('source', 'GH_ERR_SOURCE_ENCODING', 'A manifest file that is not UTF-8 text; not read.'),
  diagnostic('source', 'GH_ERR_SOURCE_YAML', 'A YAML syntax error (line given; at most a few per file are shown).'),
  diagnostic('source', 'GH_WARN_SOURCE_SKIPPED', 'A symbolic link to a folder; not followed.'),
  diagnostic(
    'source',
    'GH_WARN_SOURCE_KEPT',
    'A file that stopped parsing; its objects are served from the last good read.',
  ),

  // --- diagnostics: compile ---
  diagnostic(
    'compile',
    'GH_ERR_COMPILE_NOT_AN_OBJECT',
    'A document that is not a Kubernetes object (no kind or apiVersion).',
  ),
  diagnostic(
    'compile',
    'GH_ERR_COMPILE_INVALID',
    'A field that fails its schema or a rule; the object is not Accepted.',
  ),
  diagnostic('compile', 'GH_ERR_COMPILE_DUPLICATE', 'Two documents define the same object; neither is used.'),
  diagnostic('compile', 'GH_ERR_COMPILE_REF', 'A reference to an object that does not exist (ResolvedRefs false).'),
  diagnostic(
    'compile',
    'GH_ERR_COMPILE_CONFLICT',
    'A base path on a host already served by another ApiProxy on the same listener (Conflicted).',
  ),
  diagnostic(
    'compile',
    'GH_ERR_COMPILE_NOT_ALLOWED_BY_LISTENERS',
    'An ApiProxy that no DataPlane listener admits (its allowedRoutes namespaces and hostnames); it is served nowhere (NotAllowedByListeners).',
  ),
  diagnostic(
    'compile',
    'GH_ERR_COMPILE_CONDITION',
    'A flow or step condition that does not parse (line and column given).',
    1,
  ),
  diagnostic(
    'compile',
    'GH_ERR_COMPILE_SECRET_INLINE',
    'A password in a literal DataPlane Redis URL: put the URL in a Secret (spec.redis.secretRef).',
  ),
  diagnostic(
    'compile',
    'GH_ERR_COMPILE_TARGET_REFUSED',
    'A target URL with credentials in it, or a link-local or cloud metadata address (allowed only by spec.upstream.allowLinkLocalTargets).',
  ),
  diagnostic(
    'compile',
    'GH_WARN_COMPILE_INLINE_CREDENTIAL',
    'A policy value that looks like a credential written inline.',
  ),
  diagnostic('compile', 'GH_WARN_COMPILE_NO_ENDPOINTS', "An ApiProxy's Service has no ready endpoints."),
  diagnostic(
    'compile',
    'GH_WARN_FAILOPEN_SECURITY',
    'A DataPlane with failureMode FailOpen serves proxies with security steps: when extproc cannot answer, requests reach the upstream unchecked.',
  ),
  diagnostic(
    'compile',
    'GH_WARN_CALLOUT_TIMEOUT',
    "A ServiceCallout the flow waits for, an ExternalCallout or a JavaCallout (default timeoutMs 1000) has a timeout at or above the messageTimeout of a DataPlane serving it: Envoy answers 504 before the callout's fault.",
  ),
  diagnostic(
    'compile',
    'GH_WARN_JAVA_CALLOUT_HOST',
    'A JavaCallout served by a DataPlane without spec.javaCallouts: no Java callout host runs beside its extproc, so every request reaching the step fails with steps.javacallout.ExecutionError.',
  ),
  diagnostic(
    'compile',
    'GH_WARN_DEBUG_SESSION_NEEDS_CLUSTER',
    'A DebugSession outside a cluster (folder mode, `gatehouse dev`, `gatehouse compile`): it has no uid or creation time from an apiserver, so it is ignored.',
  ),
  diagnostic(
    'compile',
    'GH_WARN_DEV_CREDENTIAL_KEY',
    'No credential hash key configured: the fixed development key is used.',
  ),

  // --- faults: extproc itself ---
  fault('extproc', 'gatehouse.RouteNotFound', 404, 'The `x-gatehouse-route` metadata names no API proxy.', {
    apigee: 'messaging.adaptors.http.flow.ApplicationNotFound',
  }),
  fault('extproc', 'gatehouse.NotReady', 503, 'extproc has no runtime snapshot yet.'),
  fault('extproc', 'gatehouse.PayloadTooLarge', 413, 'A request body a step must read exceeds `--max-body-bytes`.', {
    apigee: 'protocol.http.TooBigBody',
  }),
  fault('extproc', 'gatehouse.ResponseTooLarge', 502, 'A response body a step must read exceeds `--max-body-bytes`.', {
    apigee: 'protocol.http.TooBigBody',
  }),
  fault('extproc', 'gatehouse.InvalidBody', 400, 'A body does not parse as its content type says.'),
  fault(
    'extproc',
    'gatehouse.RequestHeadersTooLarge',
    431,
    'Request headers or trailers exceed `--max-headers-count` or `--max-request-headers-kb` (docs/failure-modes.md).',
  ),
  fault(
    'extproc',
    'gatehouse.ResponseHeadersTooLarge',
    502,
    'Response headers or trailers exceed `--max-headers-count` or `--max-request-headers-kb`.',
  ),
  fault(
    'extproc',
    'gatehouse.BodyBufferFull',
    503,
    'Buffering this body would take the bodies held by all streams past `--max-buffered-body-bytes`.',
  ),
  fault(
    'extproc',
    'gatehouse.WorkQueueFull',
    503,
    'Policy work on a large body found every worker busy and `--work-queue` tasks already waiting.',
  ),
  fault(
    'extproc',
    'gatehouse.WorkBudgetExceeded',
    503,
    "A phase's policy work on the worker pool (queueing included) ran past `--work-budget-ms`.",
  ),
  fault(
    'extproc',
    'gatehouse.Cancelled',
    499,
    'Never sent: the stream ended while its policy work waited for a worker.',
  ),
  fault(
    'extproc',
    'protocol.http.DuplicateHeader',
    400,
    'The Content-Type of a body a step reads names more than one media type.',
    { statusNote: '502 for a response', ...apigee('protocol.http.DuplicateHeader') },
  ),
  fault(
    'extproc',
    'gatehouse.InvalidContentType',
    400,
    'The Content-Type of a body a step reads is not type/subtype.',
    {
      statusNote: '502 for a response',
    },
  ),
  fault(
    'extproc',
    'gatehouse.StoreUnavailable',
    503,
    "Redis cannot answer within its deadline and the DataPlane's `redis.onUnavailable` is `FailClosed`.",
    { statusNote: '`retry-after: 1`' },
  ),
  fault(
    'extproc',
    'gatehouse.RefusedChange',
    500,
    'A policy made a change the compiled ext_proc mutation rules would not let Envoy apply: a pseudo-header or `x-envoy*` header, removing Host, a header value with CR, LF or NUL, a verb that is not a token, a path not starting with `/` or holding a space, control character or `#`, a status outside 200-999. Logged with the policy and the header.',
  ),
  fault(
    'extproc',
    'gatehouse.PathParameters',
    400,
    'The request path (before `?`) holds a `;` path parameter (`/a;x=1`, `/a/..;/b`): Envoy routes and extproc matches with it inside its segment, servlet-style upstreams strip it, so it is refused.',
  ),
  fault('extproc', 'gatehouse.InternalError', 500, 'Anything unexpected (not described to the client; logged).'),

  // --- faults: traffic policies ---
  fault(
    'policies/traffic',
    'policies.ratelimit.QuotaViolation',
    429,
    'Quota: the count for the interval is used up.',
    apigee('policies.ratelimit.QuotaViolation'),
  ),
  fault(
    'policies/traffic',
    'policies.ratelimit.SpikeArrestViolation',
    429,
    'SpikeArrest: the request comes sooner than the rate allows.',
    apigee('policies.ratelimit.SpikeArrestViolation'),
  ),
  fault(
    'policies/traffic',
    'policies.ratelimit.FailedToResolveAllowCountReference',
    500,
    'Quota: allow does not resolve to a whole number >= 0.',
    apigee('policies.ratelimit.FailedToResolveAllowCountReference'),
  ),
  fault(
    'policies/traffic',
    'policies.ratelimit.FailedToResolveQuotaIntervalReference',
    500,
    'Quota: interval does not resolve to a whole number >= 1.',
    apigee('policies.ratelimit.FailedToResolveQuotaIntervalReference'),
  ),
  fault(
    'policies/traffic',
    'policies.ratelimit.FailedToResolveQuotaIntervalTimeUnitReference',
    500,
    'Quota: timeUnit does not resolve to a time unit.',
    apigee('policies.ratelimit.FailedToResolveQuotaIntervalTimeUnitReference'),
  ),
  fault(
    'policies/traffic',
    'policies.ratelimit.FailedToResolveSpikeArrestRate',
    500,
    'SpikeArrest: a rate ref does not resolve to a valid rate.',
    apigee('policies.ratelimit.FailedToResolveSpikeArrestRate'),
  ),
  fault(
    'policies/traffic',
    'policies.ratelimit.InvalidMessageWeight',
    500,
    'Quota or SpikeArrest: messageWeight does not resolve to a whole number >= 1.',
    apigee('policies.ratelimit.InvalidMessageWeight'),
  ),
  fault(
    'policies/traffic',
    'policies.resetquota.InvalidRLPolicy',
    500,
    'ResetQuota: an allow ref does not resolve to a whole number.',
    apigee('policies.resetquota.InvalidRLPolicy'),
  ),

  // --- faults: mediation policies ---
  fault('policies/mediation', 'steps.raisefault.RaiseFault', undefined, 'RaiseFault: always.', {
    statusNote: 'the configured `statusCode`',
    ...apigee('steps.raisefault.RaiseFault'),
  }),
  fault(
    'policies/mediation',
    'steps.assignmessage.UnresolvedVariable',
    500,
    'AssignMessage: assignTo or copy.source names a message there is not (a response in the request phase, a message variable never made), or, with ignoreUnresolvedVariables false, a template reads an unset variable.',
    apigee('steps.assignmessage.UnresolvedVariable'),
  ),
  fault(
    'policies/mediation',
    'steps.assignmessage.VariableOfNonMsgType',
    500,
    'AssignMessage: assignTo or copy.source names a variable that holds something other than a message.',
    apigee('steps.assignmessage.VariableOfNonMsgType'),
  ),
  fault(
    'policies/mediation',
    'steps.extractvariables.ExecutionFailed',
    500,
    'ExtractVariables: an unresolved variable, a body that is not acceptable XML.',
    apigee('steps.extractvariables.ExecutionFailed'),
  ),
  fault(
    'policies/mediation',
    'steps.extractvariables.JsonPathParsingFailure',
    500,
    'ExtractVariables: the body is not valid JSON.',
    apigee('steps.extractvariables.JsonPathParsingFailure'),
  ),
  fault(
    'policies/mediation',
    'steps.extractvariables.SourceMessageNotAvailable',
    500,
    'ExtractVariables: `source` names a message this phase does not have (response in the request flow).',
    apigee('steps.extractvariables.SourceMessageNotAvailable'),
  ),

  fault(
    'policies/mediation',
    'steps.jsontoxml.ExecutionFailed',
    500,
    'JSONToXML: the input is empty, not valid JSON, too deep, or converts past the output bound.',
    apigee('steps.jsontoxml.ExecutionFailed'),
  ),
  fault(
    'policies/mediation',
    'steps.jsontoxml.SourceUnavailable',
    500,
    'JSONToXML: `source` names a message this phase does not have, or an unset variable.',
    apigee('steps.jsontoxml.SourceUnavailable'),
  ),
  fault(
    'policies/mediation',
    'steps.jsontoxml.InvalidSourceType',
    500,
    'JSONToXML: the `source` variable holds no text.',
    apigee('steps.jsontoxml.InvalidSourceType'),
  ),
  fault(
    'policies/mediation',
    'steps.jsontoxml.OutputVariableIsNotAvailable',
    500,
    'JSONToXML: a variable source without `outputVariable`.',
    apigee('steps.jsontoxml.OutputVariableIsNotAvailable'),
  ),
  fault(
    'policies/mediation',
    'steps.jsontoxml.InCompatibleTypes',
    500,
    'JSONToXML: a variable source with a message (`request`, `response`) as `outputVariable`.',
    apigee('steps.jsontoxml.InCompatibleTypes'),
  ),
  fault(
    'policies/mediation',
    'steps.xmltojson.ExecutionFailed',
    500,
    'XMLToJSON: the input is empty, not valid XML, too deep, or converts past the output bound.',
    apigee('steps.xmltojson.ExecutionFailed'),
  ),
  fault(
    'policies/mediation',
    'steps.xmltojson.SourceUnavailable',
    500,
    'XMLToJSON: `source` names a message this phase does not have, or an unset variable.',
    apigee('steps.xmltojson.SourceUnavailable'),
  ),
  fault(
    'policies/mediation',
    'steps.xmltojson.InvalidSourceType',
    500,
    'XMLToJSON: the `source` variable holds no text.',
    apigee('steps.xmltojson.InvalidSourceType'),
  ),
  fault(
    'policies/mediation',
    'steps.xmltojson.OutputVariableIsNotAvailable',
    500,
    'XMLToJSON: a variable source without `outputVariable`.',
    apigee('steps.xmltojson.OutputVariableIsNotAvailable'),
  ),
  fault(
    'policies/mediation',
    'steps.xmltojson.InCompatibleTypes',
    500,
    'XMLToJSON: a variable source with a message (`request`, `response`) as `outputVariable`.',
    apigee('steps.xmltojson.InCompatibleTypes'),
  ),
  fault(
    'policies/mediation',
    'steps.xsl.XSLSourceMessageNotAvailable',
    500,
    'XSLTransform: the source message or variable is not there (a response in the request flow, an unset variable, an empty body).',
    apigee('steps.xsl.XSLSourceMessageNotAvailable'),
  ),
  fault(
    'policies/mediation',
    'steps.xsl.XSLEvaluationFailed',
    500,
    'XSLTransform: the input is not acceptable XML (malformed, DOCTYPE, too deep or too large), a parameter ref does not resolve (without a value or ignoreUnresolvedVariables), or the transform failed.',
    apigee('steps.xsl.XSLEvaluationFailed'),
  ),
  fault(
    'policies/extension',
    'steps.script.ScriptEvaluationFailed',
    500,
    'Script (Python): the script raised, did not compile, ran over its timeLimit, or ran out of memory or stack; the faultstring names the error and line.',
    apigee('steps.script.ScriptEvaluationFailed'),
  ),
  fault(
    'policies/extension',
    'steps.javascript.ScriptExecutionFailed',
    500,
    'JavaScript: the script threw, ran past its timeLimit, or ran out of memory or stack in its sandbox.',
    apigee('steps.javascript.ScriptExecutionFailed'),
  ),
  fault(
    'policies/mediation',
    'steps.messagevalidation.SourceMessageNotAvailable',
    500,
    'SOAPMessageValidation: the source message is not there (a response in the request flow, no body buffered).',
    apigee('steps.messagevalidation.SourceMessageNotAvailable'),
  ),
  fault(
    'policies/mediation',
    'steps.messagevalidation.Failed',
    500,
    'SOAPMessageValidation: the body is not well-formed, not a SOAP envelope of an accepted version, has an element not listed, or is not valid against the schema.',
    apigee('steps.messagevalidation.Failed'),
  ),

  fault(
    'policies/mediation',
    'steps.keyvaluemapoperations.SetVariableFailed',
    500,
    'KeyValueMapOperations: a Get of an encrypted KeyValueMap into a variable without the private. prefix.',
    apigee('steps.keyvaluemapoperations.SetVariableFailed'),
  ),
  fault(
    'policies/mediation',
    'steps.keyvaluemapoperations.UnsupportedOperationException',
    500,
    'KeyValueMapOperations: the mapName ref resolves to nothing (Apigee answers an empty mapIdentifier so).',
    apigee('steps.keyvaluemapoperations.UnsupportedOperationException'),
  ),
  fault(
    'policies/mediation',
    'gatehouse.KeyValueMapEntryTooLarge',
    400,
    'KeyValueMapOperations: a key over 2,048 bytes or values over 10,240 bytes (Gatehouse bounds what a request can write).',
  ),

  // --- faults: extension policies ---
  fault(
    'policies/extension',
    'steps.servicecallout.ExecutionFailed',
    500,
    'ServiceCallout: the call failed (refused address, timeout, TLS, connection, response over the cap, bad URL, unresolved variable with ignoreUnresolvedVariables false) or answered a status outside success.codes (default 1xx,2xx,3xx; the response variable is set first).',
    apigee('steps.servicecallout.ExecutionFailed'),
  ),
  fault(
    'policies/extension',
    'steps.servicecallout.RequestVariableNotMessageType',
    500,
    "ServiceCallout: request.variable (or an operation's copy.source) holds something other than a message.",
    apigee('steps.servicecallout.RequestVariableNotMessageType'),
  ),
  fault(
    'policies/extension',
    'steps.servicecallout.RequestVariableNotRequestMessageType',
    500,
    'ServiceCallout: request.variable holds a response message.',
    apigee('steps.servicecallout.RequestVariableNotRequestMessageType'),
  ),
  fault(
    'policies/extension',
    'steps.messagelogging.StepDefinitionExecutionFailed',
    500,
    "MessageLogging: the step could not build its target (a TLS trust store, client certificate or key, or an HTTP header's Secret missing from the snapshot). A target that is down, slow or refused never fails the step: the message is dropped and counted (gatehouse_messagelogging_dropped_total).",
    apigee('steps.messagelogging.StepDefinitionExecutionFailed'),
  ),
  fault(
    'policies/extension',
    'flow.SharedFlowNotFound',
    500,
    "FlowCallout or a DataPlane flow hook: the SharedFlow is not in the snapshot (a hook naming a SharedFlow that is missing or not accepted fails every request of the DataPlane's proxies closed).",
    apigee('flow.SharedFlowNotFound'),
  ),

  // --- faults: security policies ---
  fault(
    'policies/security',
    'oauth.v2.FailedToResolveAPIKey',
    401,
    'VerifyAPIKey: the key ref resolves to nothing.',
    apigee('oauth.v2.FailedToResolveAPIKey'),
  ),
  fault(
    'policies/security',
    'oauth.v2.InvalidApiKey',
    401,
    'VerifyAPIKey: no credential has this key.',
    apigee('oauth.v2.InvalidApiKey'),
  ),
  fault(
    'policies/security',
    'oauth.v2.ApiKeyNotApproved',
    401,
    'VerifyAPIKey: the credential is Revoked.',
    apigee('oauth.v2.ApiKeyNotApproved'),
  ),
  fault(
    'policies/security',
    'keymanagement.service.invalid_client-app_not_approved',
    401,
    'VerifyAPIKey: the app is Revoked.',
    apigee('keymanagement.service.invalid_client-app_not_approved'),
  ),
  fault(
    'policies/security',
    'keymanagement.service.DeveloperStatusNotActive',
    401,
    "VerifyAPIKey: the app's Developer is inactive, or is named by developerRef but missing or not accepted.",
    apigee('keymanagement.service.DeveloperStatusNotActive'),
  ),
  fault(
    'policies/security',
    'keymanagement.service.consumer_key_expired',
    401,
    "VerifyAPIKey: the credential's expiresAt has passed.",
    apigee('keymanagement.service.consumer_key_expired'),
  ),
  fault(
    'policies/security',
    'oauth.v2.InvalidApiKeyForGivenResource',
    401,
    'VerifyAPIKey: no Approved product of the app covers this proxy, path and method (a Pending or Revoked subscription covers nothing).',
    apigee('oauth.v2.InvalidApiKeyForGivenResource'),
  ),
  fault(
    'policies/security',
    'oauth.v2.InvalidAccessToken',
    401,
    'OAuthV2 VerifyAccessToken: no Authorization header, or not `Bearer <token>`.',
    apigee('steps.oauth.v2.InvalidAccessToken'),
  ),
  fault(
    'policies/security',
    'steps.oauth.v2.FailedToResolveAccessToken',
    500,
    'OAuthV2 VerifyAccessToken: the accessToken ref resolves to nothing.',
    apigee('steps.oauth.v2.FailedToResolveAccessToken'),
  ),
  fault(
    'policies/security',
    'keymanagement.service.invalid_access_token',
    401,
    'OAuthV2 VerifyAccessToken: no token like this in the proxy namespace (unknown, deleted, oversized, or of another namespace).',
    apigee('steps.oauth.v2.invalid_access_token'),
  ),
  fault(
    'policies/security',
    'keymanagement.service.access_token_expired',
    401,
    'OAuthV2 VerifyAccessToken: the token expired (kept an hour past expiry to say so, then unknown).',
    apigee('steps.oauth.v2.access_token_expired'),
  ),
  fault(
    'policies/security',
    'keymanagement.service.access_token_not_approved',
    401,
    'OAuthV2 VerifyAccessToken: the token was revoked (InvalidateToken).',
    apigee('steps.oauth.v2.access_token_not_approved'),
  ),
  fault(
    'policies/security',
    'keymanagement.service.InvalidAPICallAsNoApiProductMatchFound',
    401,
    "OAuthV2 VerifyAccessToken: none of the token's products (still approved for the app) covers this proxy, path and method.",
    apigee('steps.oauth.v2.InvalidAPICallAsNoApiProductMatchFound'),
  ),
  fault(
    'policies/security',
    'steps.oauth.v2.insufficient_scope',
    403,
    'OAuthV2 VerifyAccessToken: the token holds none of the required scopes.',
    apigee('steps.oauth.v2.insufficient_scope'),
  ),
  fault(
    'policies/security',
    'oauth.v2.invalid_request',
    400,
    'OAuthV2 token endpoint: a required parameter is missing, or the redirect URI does not match the app callback or the code.',
    apigee('steps.oauth.v2.invalid_request'),
  ),
  fault(
    'policies/security',
    'oauth.v2.invalid_client',
    401,
    'OAuthV2 token endpoint: unknown client, wrong secret, or the app or credential is not approved.',
    apigee('steps.oauth.v2.invalid_client'),
  ),
  fault(
    'policies/security',
    'oauth.v2.invalid_grant',
    400,
    'OAuthV2 token endpoint: the authorization code or refresh token is unknown, used, rotated, revoked, expired or of another client (Apigee body: ErrorCode invalid_request).',
  ),
  fault(
    'policies/security',
    'oauth.v2.unsupported_grant_type',
    400,
    'OAuthV2 GenerateAccessToken: the grant type is not in supportedGrantTypes.',
    apigee('steps.oauth.v2.UnSupportedGrantType'),
  ),
  fault(
    'policies/security',
    'oauth.v2.invalid_scope',
    400,
    'OAuthV2 token endpoint: a requested scope is not a scope of the app products.',
  ),
  fault(
    'policies/security',
    'oauth.v2.unsupported_response_type',
    400,
    'OAuthV2 GenerateAuthorizationCode: response_type is not code (Apigee body: ErrorCode invalid_request).',
  ),
  fault(
    'policies/security',
    'steps.oauth.v2.invalid_access_token',
    undefined,
    'Get/Set/DeleteOAuthV2Info: no access token like this in the proxy namespace.',
    {
      statusNote: '500 (GetOAuthV2Info, SetOAuthV2Info), 401 (DeleteOAuthV2Info)',
      ...apigee('steps.oauth.v2.invalid_access_token'),
    },
  ),
  fault(
    'policies/security',
    'steps.oauth.v2.access_token_expired',
    500,
    'GetOAuthV2Info, SetOAuthV2Info: the access token expired.',
    apigee('steps.oauth.v2.access_token_expired'),
  ),
  fault(
    'policies/security',
    'steps.oauth.v2.invalid_refresh_token',
    500,
    'GetOAuthV2Info: no refresh token like this in the proxy namespace.',
    apigee('steps.oauth.v2.invalid_refresh_token'),
  ),
  fault(
    'policies/security',
    'steps.oauth.v2.refresh_token_expired',
    500,
    'GetOAuthV2Info: the refresh token expired.',
    apigee('steps.oauth.v2.refresh_token_expired'),
  ),
  fault(
    'policies/security',
    'steps.oauth.v2.invalid_request-authorization_code_invalid',
    undefined,
    'Get/DeleteOAuthV2Info: no authorization code like this in the proxy namespace.',
    {
      statusNote: '500 (GetOAuthV2Info), 401 (DeleteOAuthV2Info)',
      ...apigee('steps.oauth.v2.invalid_request-authorization_code_invalid'),
    },
  ),
  fault(
    'policies/security',
    'steps.oauth.v2.authorization_code_expired',
    500,
    'GetOAuthV2Info: the authorization code expired.',
    apigee('steps.oauth.v2.authorization_code_expired'),
  ),
  fault(
    'policies/security',
    'steps.oauth.v2.TokenValueRequired',
    500,
    'Get/Set/DeleteOAuthV2Info: the token, code or client id ref resolves to nothing.',
    apigee('steps.oauth.v2.TokenValueRequired'),
  ),
  fault(
    'policies/security',
    'steps.oauth.v2.invalid_client-invalid_client_id',
    500,
    'GetOAuthV2Info: no approved credential of an approved app in the proxy namespace has this client id.',
    apigee('steps.oauth.v2.invalid_client-invalid_client_id'),
  ),
  fault(
    'policies/security',
    'steps.basicauthentication.UnresolvedVariable',
    500,
    'BasicAuthentication Encode: a user or password ref is unset.',
    apigee('steps.basicauthentication.UnresolvedVariable'),
  ),
  fault(
    'policies/security',
    'steps.basicauthentication.InvalidBasicAuthenticationSource',
    401,
    'BasicAuthentication Decode: the source is missing or not well-formed Basic credentials.',
    {
      statusNote: "`www-authenticate: Basic`; 500 with the policy's `faultStatus: 500` (Apigee's)",
      ...apigee('steps.basicauthentication.InvalidBasicAuthenticationSource'),
    },
  ),
  fault(
    'policies/security',
    'accesscontrol.IPDeniedAccess',
    403,
    'AccessControl: the client address is denied.',
    apigee('accesscontrol.IPDeniedAccess'),
  ),
  fault(
    'policies/security',
    'steps.jwt.AlgorithmInTokenNotPresentInConfiguration',
    401,
    "VerifyJWT: the token's alg (none included) is not in the policy's algorithms.",
    apigee('steps.jwt.AlgorithmInTokenNotPresentInConfiguration'),
  ),
  fault(
    'policies/security',
    'steps.jwt.EncryptionFailed',
    500,
    'GenerateJWT type Encrypted: jose could not encrypt to the configured key (it does not fit the key algorithm).',
    apigee('steps.jwt.EncryptionFailed'),
  ),
  fault(
    'policies/security',
    'steps.jwt.FailedToDecode',
    401,
    'VerifyJWT, DecodeJWT: the token is not three base64url parts of JSON objects, is longer than 16 KiB, or names a header or claim twice.',
    apigee('steps.jwt.FailedToDecode'),
  ),
  fault(
    'policies/security',
    'steps.jwt.FailedToResolveVariable',
    undefined,
    'JWT policies: the source, a key or a claim variable is unset.',
    {
      statusNote: '401 from VerifyJWT and DecodeJWT, 500 from GenerateJWT',
      ...apigee('steps.jwt.FailedToResolveVariable'),
    },
  ),
  fault(
    'policies/security',
    'steps.jwt.InsufficientKeyLength',
    undefined,
    'JWT policies, OAuthV2 JWT access tokens: an HMAC key shorter than its algorithm needs (HS256 32 bytes, HS384 48, HS512 64), or an RSA key under 2048 bits.',
    {
      statusNote: '401 from VerifyJWT, 500 from GenerateJWT and the OAuthV2 JWT operations',
      ...apigee('steps.jwt.InsufficientKeyLength'),
    },
  ),
  fault(
    'policies/security',
    'steps.jwt.InvalidClaim',
    undefined,
    'VerifyJWT: an additional claim or header, or the jti, differs from the config; GenerateJWT: expiresIn or notBefore is not a time value.',
    {
      statusNote: '401 from VerifyJWT, 500 from GenerateJWT',
      ...apigee('steps.jwt.InvalidClaim'),
    },
  ),
  fault(
    'policies/security',
    'steps.jwt.InvalidPrivateKey',
    500,
    'GenerateJWT: the private key does not parse (or its password is wrong).',
    apigee('steps.jwt.InvalidPrivateKey'),
  ),
  fault(
    'policies/security',
    'steps.jwt.InvalidPublicKey',
    401,
    'VerifyJWT: the public key, certificate or JWKS does not parse, or does not fit the algorithm.',
    apigee('steps.jwt.InvalidPublicKey'),
  ),
  fault(
    'policies/security',
    'steps.jwt.InvalidSecretKey',
    undefined,
    'JWT policies: the secret key does not decode in its encoding.',
    {
      statusNote: '401 from VerifyJWT, 500 from GenerateJWT',
      ...apigee('steps.jwt.InvalidSecretKey'),
    },
  ),
  fault(
    'policies/security',
    'steps.jwt.InvalidToken',
    401,
    'VerifyJWT: the signature does not verify, or exp, nbf or iat is not a number.',
    apigee('steps.jwt.InvalidToken'),
  ),
  fault(
    'policies/security',
    'steps.jwt.JwtAudienceMismatch',
    401,
    'VerifyJWT: no configured audience is in the aud claim.',
    apigee('steps.jwt.JwtAudienceMismatch'),
  ),
  fault(
    'policies/security',
    'steps.jwt.JwtIssuerMismatch',
    401,
    'VerifyJWT: the iss claim is not the configured issuer.',
    apigee('steps.jwt.JwtIssuerMismatch'),
  ),
  fault(
    'policies/security',
    'steps.jwt.JwtSubjectMismatch',
    401,
    'VerifyJWT: the sub claim is not the configured subject.',
    apigee('steps.jwt.JwtSubjectMismatch'),
  ),
  fault(
    'policies/security',
    'steps.jwt.NoAlgorithmFoundInHeader',
    401,
    'VerifyJWT: the header has no alg.',
    apigee('steps.jwt.NoAlgorithmFoundInHeader'),
  ),
  fault(
    'policies/security',
    'steps.jwt.NoMatchingPublicKey',
    401,
    "VerifyJWT: no key of the JWKS matches the token's kid and alg (after one bounded refetch of a JWKS URL).",
    apigee('steps.jwt.NoMatchingPublicKey'),
  ),
  fault(
    'policies/security',
    'steps.jwt.SigningFailed',
    500,
    'GenerateJWT: the key does not fit the algorithm.',
    apigee('steps.jwt.SigningFailed'),
  ),
  fault(
    'policies/security',
    'steps.jwt.TokenExpired',
    401,
    'VerifyJWT: now is at or after exp plus the time allowance.',
    apigee('steps.jwt.TokenExpired'),
  ),
  fault(
    'policies/security',
    'steps.jwt.TokenNotYetValid',
    401,
    'VerifyJWT: now plus the time allowance is before nbf, or before iat (unless ignoreIssuedAt).',
    apigee('steps.jwt.TokenNotYetValid'),
  ),
  fault(
    'policies/security',
    'steps.jwt.UnhandledCriticalHeader',
    401,
    'VerifyJWT: crit names a header not in knownHeaders.',
    apigee('steps.jwt.UnhandledCriticalHeader'),
  ),
  fault(
    'policies/security',
    'steps.jwt.UnknownException',
    401,
    'VerifyJWT: the JWKS URL or discovery document cannot be fetched and no cached keys are within their stale bound.',
    apigee('steps.jwt.UnknownException'),
  ),
  fault(
    'policies/security',
    'steps.jws.AlgorithmInTokenNotPresentInConfiguration',
    401,
    "VerifyJWS: the JWS's alg (none included) is not in the policy's algorithms.",
    apigee('steps.jws.AlgorithmInTokenNotPresentInConfiguration'),
  ),
  fault(
    'policies/security',
    'steps.jws.ContentIsNotDetached',
    401,
    'VerifyJWS: detachedContent is configured but the JWS carries content.',
    apigee('steps.jws.ContentIsNotDetached'),
  ),
  fault(
    'policies/security',
    'steps.jws.FailedToDecode',
    401,
    'VerifyJWS, DecodeJWS: the JWS is not three base64url parts with a JSON header, is longer than 16 KiB, or names a header twice.',
    apigee('steps.jws.FailedToDecode'),
  ),
  fault(
    'policies/security',
    'steps.jws.FailedToResolveVariable',
    undefined,
    'JWS policies: the source, detached content, payload, a key or a header variable is unset.',
    {
      statusNote: '401 from VerifyJWS and DecodeJWS, 500 from GenerateJWS',
      ...apigee('steps.jws.FailedToResolveVariable'),
    },
  ),
  fault(
    'policies/security',
    'steps.jws.InsufficientKeyLength',
    undefined,
    'JWS policies: an HMAC key shorter than its algorithm needs (HS256 32 bytes, HS384 48, HS512 64), or an RSA key under 2048 bits.',
    { statusNote: '401 from VerifyJWS, 500 from GenerateJWS', ...apigee('steps.jws.InsufficientKeyLength') },
  ),
  fault(
    'policies/security',
    'steps.jws.InvalidClaim',
    401,
    'VerifyJWS: an additional header differs from the config.',
    apigee('steps.jws.InvalidClaim'),
  ),
  fault(
    'policies/security',
    'steps.jws.InvalidPrivateKey',
    500,
    'GenerateJWS: the private key does not parse (or its password is wrong).',
    apigee('steps.jws.InvalidPrivateKey'),
  ),
  fault(
    'policies/security',
    'steps.jws.InvalidPublicKey',
    401,
    'VerifyJWS: the public key, certificate or JWKS does not parse, or does not fit the algorithm.',
    apigee('steps.jws.InvalidPublicKey'),
  ),
  fault(
    'policies/security',
    'steps.jws.InvalidSecretKey',
    undefined,
    'JWS policies: the secret key does not decode in its encoding.',
    {
      statusNote: '401 from VerifyJWS, 500 from GenerateJWS',
      ...apigee('steps.jws.InvalidSecretKey'),
    },
  ),
  fault(
    'policies/security',
    'steps.jws.InvalidSignature',
    401,
    'VerifyJWS: the signature does not verify.',
    apigee('steps.jws.InvalidSignature'),
  ),
  fault(
    'policies/security',
    'steps.jws.MissingPayload',
    401,
    'VerifyJWS: the JWS is detached and no detachedContent is configured.',
    apigee('steps.jws.MissingPayload'),
  ),
  fault(
    'policies/security',
    'steps.jws.NoAlgorithmFoundInHeader',
    401,
    'VerifyJWS: the header has no alg.',
    apigee('steps.jws.NoAlgorithmFoundInHeader'),
  ),
  fault(
    'policies/security',
    'steps.jws.NoMatchingPublicKey',
    401,
    "VerifyJWS: no key of the JWKS matches the JWS's kid and alg.",
    apigee('steps.jws.NoMatchingPublicKey'),
  ),
  fault(
    'policies/security',
    'steps.jws.SigningFailed',
    500,
    'GenerateJWS: the key does not fit the algorithm.',
    apigee('steps.jws.SigningFailed'),
  ),
  fault(
    'policies/security',
    'steps.jws.UnhandledCriticalHeader',
    401,
    'VerifyJWS: crit names a header not in knownHeaders.',
    apigee('steps.jws.UnhandledCriticalHeader'),
  ),
  fault(
    'policies/security',
    'steps.jws.UnknownException',
    401,
    'VerifyJWS: the JWKS URL or discovery document cannot be fetched and no cached keys are within their stale bound.',
    apigee('steps.jws.UnknownException'),
  ),
  fault(
    'policies/security',
    'steps.jsonthreatprotection.ExecutionFailed',
    400,
    'JSONThreatProtection: a limit exceeded (containerDepth, arrayElementCount, objectEntryCount, objectEntryNameLength, stringValueLength; the faultstring names which) or the body is not valid JSON.',
    { statusNote: "the policy's `faultStatus` (Apigee: 500)", ...apigee('steps.jsonthreatprotection.ExecutionFailed') },
  ),
  fault(
    'policies/security',
    'steps.jsonthreatprotection.SourceUnavailable',
    500,
    'JSONThreatProtection: `source` names a message this phase does not have (response in the request flow).',
    apigee('steps.jsonthreatprotection.SourceUnavailable'),
  ),
  fault(
    'policies/security',
    'steps.xmlthreatprotection.ExecutionFailed',
    400,
    'XMLThreatProtection: a name, structure or value limit exceeded, a DOCTYPE, or the body is not well-formed XML (the faultstring names which).',
    { statusNote: "the policy's `faultStatus` (Apigee: 500)", ...apigee('steps.xmlthreatprotection.ExecutionFailed') },
  ),
  fault(
    'policies/security',
    'steps.xmlthreatprotection.SourceUnavailable',
    500,
    'XMLThreatProtection: `source` names a message this phase does not have (response in the request flow).',
    apigee('steps.xmlthreatprotection.SourceUnavailable'),
  ),
  fault(
    'policies/security',
    'steps.regexprotection.ThreatDetected',
    400,
    'RegularExpressionProtection: a pattern matched (the faultstring names the place, never the value).',
    apigee('steps.regexprotection.ThreatDetected'),
  ),
  fault(
    'policies/security',
    'steps.regexprotection.ExecutionFailed',
    400,
    'RegularExpressionProtection: a JSON or XML check met a body that is not valid JSON or acceptable XML.',
    { statusNote: "the policy's `faultStatus` (Apigee: 500)", ...apigee('steps.regexprotection.ExecutionFailed') },
  ),
  fault(
    'policies/security',
    'steps.regexprotection.SourceUnavailable',
    500,
    'RegularExpressionProtection: `source` names a message this phase does not have (response in the request flow).',
    apigee('steps.regexprotection.SourceUnavailable'),
  ),

  // --- faults: extension policies ---
  fault(
    'policies/extension',
    'steps.externalcallout.ExecutionError',
    500,
    'ExternalCallout: the gRPC call failed (unreachable or dying server, TimeoutMs passed, an error status, a reply over the size bound or breaking the contract); the faultstring names the gRPC status. A fault the server returns is steps.externalcallout.{its name} instead (500, even under continueOnError).',
    apigee('steps.externalcallout.ExecutionError'),
  ),
  fault(
    'policies/extension',
    'steps.externalcallout.GrpcTlsInitFailed',
    500,
    'ExternalCallout: the TLS material (CA, client certificate and key from Secrets) is missing from the snapshot or cannot be used.',
    { apigee: 'GrpcTlsInitFailed' },
  ),
  fault(
    'policies/extension',
    'steps.javacallout.ExecutionError',
    500,
    'JavaCallout: the callout failed or could not run (Java callout host unavailable or busy, timeoutMs passed, the class threw or returned ABORT, a missing jar or class); the faultstring says which. A DataPlane without spec.javaCallouts runs no host (GH_WARN_JAVA_CALLOUT_HOST).',
    apigee('steps.javacallout.ExecutionError'),
  ),
];
