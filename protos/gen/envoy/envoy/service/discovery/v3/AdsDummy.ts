/* eslint-disable @typescript-eslint/no-empty-object-type */
// Original file: envoy-api/envoy/service/discovery/v3/ads.proto


export interface AdsDummy {
}

export interface AdsDummy__Output {
}
