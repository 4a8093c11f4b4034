// The ext_proc filter (docs/architecture.md#the-envoy-and-extproc-contract): listener-level config per data plane, and the per-route override
// that asks only for the phases a proxy's steps need and names the proxy in gRPC metadata.
import type { ProcessingMode } from '../../../../protos/gen/json/envoy.extensions.filters.http.ext_proc.v3.ts';
import type { AnyOf } from '../../../../protos/gen/json/google.protobuf.ts';
import type { IrDataPlane, IrProcessing, IrProxy } from '../ir.ts';
import { protoDuration } from '../durations.ts';
import { gatehouseMetadataNamespace } from './access-log.ts';
import { extProcClusterName, routeMetadataKey, typeUrls } from './names.ts';

export const requestAttributes = ['source.address', 'request.id', 'connection.mtls', 'xds.route_name'];

function processingMode(p: IrProcessing): ProcessingMode {
  return {
    request_header_mode: 'SEND',
    request_body_mode: p.requestBody ? 'BUFFERED' : 'NONE',
    request_trailer_mode: 'SKIP',
    response_header_mode: p.responseHeaders ? 'SEND' : 'SKIP',
    response_body_mode: p.responseBody ? 'BUFFERED' : 'NONE',
    response_trailer_mode: 'SKIP',
  };
}

export function extProcFilterConfig(dp: IrDataPlane): AnyOf<typeof typeUrls.extProc> {
  return {
    '@type': typeUrls.extProc,
    grpc_service: { envoy_grpc: { cluster_name: extProcClusterName(dp) } },
    failure_mode_allow: dp.failureMode === 'FailOpen',
    // Routes override this; requests that match no route only get their headers sent.
    processing_mode: processingMode({ requestBody: false, responseHeaders: false, responseBody: false }),
    message_timeout: protoDuration(dp.messageTimeoutMs),
    allow_mode_override: true,
    request_attributes: requestAttributes,
    // extproc's per-request facts (proxy, app, fault_code) for the access log: Envoy writes a reply's
    // dynamic_metadata only for namespaces listed here (Filter::setDynamicMetadata), immediate responses
    // included, before the reply is acted on.
    metadata_options: { receiving_namespaces: { untyped: [gatehouseMetadataNamespace] } },
    // Explicit rather than Envoy's defaults (Checker::isAllowed in mutation_rules.cc, applied by
    // MutationUtils::applyHeaderMutations; docs/architecture.md#the-envoy-and-extproc-contract):
    // - allow_all_routing: a policy's verb (:method) and Host reach the upstream; the route chosen
    //   from the client's request is kept (no clear_route_cache, docs/tenancy.md);
    // - disallow_expression: :scheme stays Envoy's (the upstream connection decides it);
    // - :path and :status may be set (disallow_system false), never removed or appended to;
    // - x-envoy* stays Envoy's (allow_envoy false);
    // - disallow_is_error: extproc refuses all of the above at the policy (a counted, logged fault),
    //   so a refused mutation reaching Envoy is a bug that answers 500 instead of vanishing.
    mutation_rules: {
      allow_all_routing: true,
      allow_envoy: false,
      disallow_system: false,
      disallow_all: false,
      disallow_expression: { regex: ':scheme' },
      disallow_is_error: true,
    },
  };
}

export function extProcPerRoute(proxy: IrProxy): AnyOf<typeof typeUrls.extProcPerRoute> {
  return {
    '@type': typeUrls.extProcPerRoute,
    overrides: {
      processing_mode: processingMode(proxy.processing),
      grpc_initial_metadata: [{ key: routeMetadataKey, value: `${proxy.namespace}/${proxy.name}` }],
    },
  };
}
