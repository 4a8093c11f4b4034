// Original file: envoy-api/envoy/service/discovery/v3/discovery.proto

import type { Node as _envoy_config_core_v3_Node, Node__Output as _envoy_config_core_v3_Node__Output } from '../../../../envoy/config/core/v3/Node.ts';
import type { Status as _google_rpc_Status, Status__Output as _google_rpc_Status__Output } from '../../../../google/rpc/Status.ts';
import type { ResourceLocator as _envoy_service_discovery_v3_ResourceLocator, ResourceLocator__Output as _envoy_service_discovery_v3_ResourceLocator__Output } from '../../../../envoy/service/discovery/v3/ResourceLocator.ts';

export interface DeltaDiscoveryRequest {
  'node'?: (_envoy_config_core_v3_Node | null);
  'typeUrl'?: (string);
  'resourceNamesSubscribe'?: (string)[];
  'resourceNamesUnsubscribe'?: (string)[];
  'initialResourceVersions'?: ({[key: string]: string});
  'responseNonce'?: (string);
  'errorDetail'?: (_google_rpc_Status | null);
  'resourceLocatorsSubscribe'?: (_envoy_service_discovery_v3_ResourceLocator)[];
  'resourceLocatorsUnsubscribe'?: (_envoy_service_discovery_v3_ResourceLocator)[];
}

export interface DeltaDiscoveryRequest__Output {
  'node': (_envoy_config_core_v3_Node__Output | null);
  'typeUrl': (string);
  'resourceNamesSubscribe': (string)[];
  'resourceNamesUnsubscribe': (string)[];
  'initialResourceVersions': ({[key: string]: string});
  'responseNonce': (string);
  'errorDetail': (_google_rpc_Status__Output | null);
  'resourceLocatorsSubscribe': (_envoy_service_discovery_v3_ResourceLocator__Output)[];
  'resourceLocatorsUnsubscribe': (_envoy_service_discovery_v3_ResourceLocator__Output)[];
}
