// Original file: protos/gatehouse/v1/runtime.proto

import type { Long } from '@grpc/proto-loader';

export interface ProductQuota {
  'limit'?: (number | string | Long);
  'interval'?: (number | string | Long);
  /**
   * second | minute | hour | day | week | month
   */
  'timeUnit'?: (string);
}

export interface ProductQuota__Output {
  'limit': (string);
  'interval': (string);
  /**
   * second | minute | hour | day | week | month
   */
  'timeUnit': (string);
}
