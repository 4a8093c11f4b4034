// Listener -> ListenerConfig: one filter chain (plain text, or TLS from its DownstreamTlsContext)
// holding an HttpConnectionManager over RDS whose HTTP filters are ext_proc (optional) and the router
// (last), which is what Gatehouse emits.
import { ConfigRejectedError } from '../errors.ts';
import { boolValue, unpackAny, type Decoded, type PackedAny } from '../xds/envoy-protos.ts';
import { extProcTypeUrl, parseExtProcFilter } from './ext-proc.ts';
import type { ExtProcFilterConfig, ListenerConfig } from './model.ts';
import { parseDownstreamTls } from './tls.ts';

const hcmTypeUrl =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const routerTypeUrl = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

function httpFilters(filters: Decoded[], where: string): ExtProcFilterConfig | undefined {
  if (filters.length === 0 || (filters.at(-1)!.typed_config as PackedAny | null)?.type_url !== routerTypeUrl) {
    throw new ConfigRejectedError(`${where}: the last HTTP filter must be envoy.filters.http.router`);
  }
  let extProc: ExtProcFilterConfig | undefined;
  for (const f of filters.slice(0, -1)) {
    const any = f.typed_config as PackedAny | null;
    if (any?.type_url !== extProcTypeUrl)
      throw new ConfigRejectedError(
        `${where}: HTTP filter ${String(f.name)} (${any?.type_url ?? 'no typed_config'}) is not supported by devproxy`,
      );
    if (extProc) throw new ConfigRejectedError(`${where}: more than one ext_proc filter`);
    extProc = parseExtProcFilter(String(f.name), unpackAny(any));
  }
  return extProc;
}

export function parseListener(l: Decoded): ListenerConfig {
  const name = String(l.name);
  const socket = (l.address as Decoded | null)?.socket_address as Decoded | null;
  if (!socket) throw new ConfigRejectedError(`listener ${name}: address.socket_address is required`);
  const chains = l.filter_chains as Decoded[];
  if (chains.length !== 1)
    throw new ConfigRejectedError(
      `listener ${name}: devproxy supports exactly one filter chain, found ${chains.length}`,
    );
  const chain = chains[0]!;
  const socketConfig = chain.transport_socket as Decoded | null;
  if (socketConfig && socketConfig.name !== 'envoy.transport_sockets.tls')
    throw new ConfigRejectedError(
      `listener ${name}: transport socket ${String(socketConfig.name)} is not supported by devproxy`,
    );
  const filters = chain.filters as Decoded[];
  const hcmFilter = filters.length === 1 ? filters[0]! : undefined;
  if (!hcmFilter)
    throw new ConfigRejectedError(`listener ${name}: expected exactly one network filter (http_connection_manager)`);
  const hcm = unpackAny(hcmFilter.typed_config as PackedAny, hcmTypeUrl);
  const rds = hcm.rds as { route_config_name?: string } | null;
  if (!rds?.route_config_name)
    throw new ConfigRejectedError(`listener ${name}: the HttpConnectionManager must use rds`);
  return {
    name,
    host: String(socket.address),
    port: Number(socket.port_value),
    routeConfigName: String(rds.route_config_name),
    extProc: httpFilters(hcm.http_filters as Decoded[], `listener ${name}`),
    normalizePath: boolValue(hcm.normalize_path, false),
    mergeSlashes: Boolean(hcm.merge_slashes),
    ...(socketConfig ? { tls: parseDownstreamTls(socketConfig, `listener ${name}`) } : {}),
  };
}
