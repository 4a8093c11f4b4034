// Original file: protos/gatehouse/v1/runtime.proto

import type { AnalyticsOtlpSink as _gatehouse_v1_AnalyticsOtlpSink, AnalyticsOtlpSink__Output as _gatehouse_v1_AnalyticsOtlpSink__Output } from '../../gatehouse/v1/AnalyticsOtlpSink.ts';
import type { AnalyticsFileSink as _gatehouse_v1_AnalyticsFileSink, AnalyticsFileSink__Output as _gatehouse_v1_AnalyticsFileSink__Output } from '../../gatehouse/v1/AnalyticsFileSink.ts';
import type { AnalyticsHttpSink as _gatehouse_v1_AnalyticsHttpSink, AnalyticsHttpSink__Output as _gatehouse_v1_AnalyticsHttpSink__Output } from '../../gatehouse/v1/AnalyticsHttpSink.ts';

export interface Analytics {
  /**
   * Records held per sink waiting for export; past it a record is dropped and counted.
   */
  'queueSize'?: (number);
  /**
   * How long a record waits for a batch, milliseconds.
   */
  'flushIntervalMs'?: (number);
  /**
   * Records per export.
   */
  'batchSize'?: (number);
  'otlp'?: (_gatehouse_v1_AnalyticsOtlpSink | null);
  'file'?: (_gatehouse_v1_AnalyticsFileSink | null);
  'http'?: (_gatehouse_v1_AnalyticsHttpSink | null);
}

export interface Analytics__Output {
  /**
   * Records held per sink waiting for export; past it a record is dropped and counted.
   */
  'queueSize': (number);
  /**
   * How long a record waits for a batch, milliseconds.
   */
  'flushIntervalMs': (number);
  /**
   * Records per export.
   */
  'batchSize': (number);
  'otlp': (_gatehouse_v1_AnalyticsOtlpSink__Output | null);
  'file': (_gatehouse_v1_AnalyticsFileSink__Output | null);
  'http': (_gatehouse_v1_AnalyticsHttpSink__Output | null);
}
