// Original file: envoy-api/envoy/config/core/v3/address.proto

import type { SocketAddress as _envoy_config_core_v3_SocketAddress, SocketAddress__Output as _envoy_config_core_v3_SocketAddress__Output } from '../../../../envoy/config/core/v3/SocketAddress.ts';
import type { BoolValue as _google_protobuf_BoolValue, BoolValue__Output as _google_protobuf_BoolValue__Output } from '../../../../google/protobuf/BoolValue.ts';
import type { SocketOption as _envoy_config_core_v3_SocketOption, SocketOption__Output as _envoy_config_core_v3_SocketOption__Output } from '../../../../envoy/config/core/v3/SocketOption.ts';
import type { ExtraSourceAddress as _envoy_config_core_v3_ExtraSourceAddress, ExtraSourceAddress__Output as _envoy_config_core_v3_ExtraSourceAddress__Output } from '../../../../envoy/config/core/v3/ExtraSourceAddress.ts';
import type { TypedExtensionConfig as _envoy_config_core_v3_TypedExtensionConfig, TypedExtensionConfig__Output as _envoy_config_core_v3_TypedExtensionConfig__Output } from '../../../../envoy/config/core/v3/TypedExtensionConfig.ts';

export interface BindConfig {
  'sourceAddress'?: (_envoy_config_core_v3_SocketAddress | null);
  'freebind'?: (_google_protobuf_BoolValue | null);
  'socketOptions'?: (_envoy_config_core_v3_SocketOption)[];
  'additionalSourceAddresses'?: (_envoy_config_core_v3_SocketAddress)[];
  'extraSourceAddresses'?: (_envoy_config_core_v3_ExtraSourceAddress)[];
  'localAddressSelector'?: (_envoy_config_core_v3_TypedExtensionConfig | null);
}

export interface BindConfig__Output {
  'sourceAddress': (_envoy_config_core_v3_SocketAddress__Output | null);
  'freebind': (_google_protobuf_BoolValue__Output | null);
  'socketOptions': (_envoy_config_core_v3_SocketOption__Output)[];
  'additionalSourceAddresses': (_envoy_config_core_v3_SocketAddress__Output)[];
  'extraSourceAddresses': (_envoy_config_core_v3_ExtraSourceAddress__Output)[];
  'localAddressSelector': (_envoy_config_core_v3_TypedExtensionConfig__Output | null);
}
