// One Listener per data-plane listener: HttpConnectionManager over RDS with the ext_proc filter first
// and the router last.
import type { FilterChain, Listener } from '../../../../protos/gen/json/envoy.config.listener.v3.ts';
import type { AnyOf } from '../../../../protos/gen/json/google.protobuf.ts';
import type { IrDataPlane, IrListener } from '../ir.ts';
import { extProcFilterConfig } from './ext-proc.ts';
import { adsConfigSource, extProcFilterName, routeConfigName, socketAddress, typeUrls } from './names.ts';
import type { SdsSecretRefs } from './secrets.ts';
import { downstreamTls } from './tls.ts';

function httpConnectionManager(dp: IrDataPlane, listener: IrListener): AnyOf<typeof typeUrls.httpConnectionManager> {
  return {
    '@type': typeUrls.httpConnectionManager,
    stat_prefix: listener.name.replaceAll('/', '_'),
    codec_type: 'AUTO',
    rds: { route_config_name: routeConfigName, config_source: adsConfigSource },
    http_filters: [
      { name: extProcFilterName, typed_config: extProcFilterConfig(dp) },
      { name: 'envoy.filters.http.router', typed_config: { '@type': typeUrls.router } },
    ],
    use_remote_address: true,
    normalize_path: true,
    merge_slashes: true,
  };
}

export function emitListeners(dataPlanes: readonly IrDataPlane[], sds: SdsSecretRefs): Listener[] {
  return dataPlanes.flatMap((dp) =>
    dp.listeners.map((l): Listener => ({
      name: l.name,
      address: socketAddress('0.0.0.0', l.port),
      filter_chains: [
        {
          filters: [
            { name: 'envoy.filters.network.http_connection_manager', typed_config: httpConnectionManager(dp, l) },
          ],
          ...(l.tls ? ({ transport_socket: downstreamTls(l.tls, sds) } satisfies FilterChain) : {}),
        },
      ],
    })),
  );
}
