// StatisticsCollector (docs/policies.md#statisticscollector): each statistic's flow variable, converted
// to its type (the default when unset or not convertible, as Apigee does), becomes a custom dimension
// of the transaction's analytics record (docs/operations.md#analytics). The dimensions are kept in one
// flow variable, which the stream reads when it makes the record; a later step's value for a name
// replaces an earlier one's.
import {
  convertStatistic,
  statisticsCollector,
  type StatisticsCollectorConfig,
} from '../../../../protos/policies/extension/statistics-collector.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';

/** The flow variable holding the dimensions (extproc/src/analytics/record.ts reads it). */
export const statisticsVariable = 'gatehouse.statistics';

/** Longest string dimension recorded; longer values are cut. */
const maxStringLength = 1024;

export const statisticsCollectorPolicy: PolicyImplementation<StatisticsCollectorConfig> = {
  type: 'StatisticsCollector',
  create(config, meta) {
    checkConfig(statisticsCollector, config, meta);
    const statistics = config.statistics.map((s) => ({
      name: s.name,
      ref: s.ref,
      type: s.type ?? 'string',
      fallback: s.default === undefined ? undefined : convertStatistic(s.default, s.type ?? 'string'),
    }));
    return (ctx) => {
      const current = ctx.variables.get(statisticsVariable);
      const dimensions: Record<string, string | number | boolean> =
        current !== null && typeof current === 'object'
          ? { ...(current as Record<string, string | number | boolean>) }
          : {};
      for (const s of statistics) {
        const raw = ctx.variables.get(s.ref);
        const text =
          typeof raw === 'string'
            ? raw
            : typeof raw === 'number' || typeof raw === 'boolean' || typeof raw === 'bigint'
              ? String(raw)
              : undefined;
        let value = text === undefined ? undefined : convertStatistic(text, s.type);
        if (typeof value === 'string' && value.length > maxStringLength) value = value.slice(0, maxStringLength);
        value ??= s.fallback;
        if (value === undefined) delete dimensions[s.name];
        else dimensions[s.name] = value;
      }
      ctx.variables.set(statisticsVariable, dimensions);
      return undefined;
    };
  },
};
