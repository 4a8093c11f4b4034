// StatisticsCollector (docs/policies.md#statisticscollector): custom dimensions of the transaction's
// analytics record (docs/operations.md#analytics), each a flow variable's value converted to its type,
// or the default when the variable is unset or does not convert, as Apigee does.
import type { PolicyTypeSpec } from '../index.ts';
import type { ConfigProblem } from '../schema.ts';

export const statisticTypes = ['string', 'integer', 'float', 'long', 'double', 'boolean'] as const;
export type StatisticType = (typeof statisticTypes)[number];

export interface Statistic {
  name: string;
  ref: string;
  /** Default string. */
  type?: StatisticType;
  /** Used when the variable is unset or does not convert. Apigee: the element text. */
  default?: string;
}

export interface StatisticsCollectorConfig {
  statistics: Statistic[];
}

/**
 * The analytics record's own fields (extproc/src/analytics/record.ts): a statistic cannot take one of
 * these names (nor one starting with ax_ or x_apigee_, Apigee's prefixes for its own dimensions).
 */
export const analyticsRecordFields = [
  'client_received_start_timestamp',
  'apiproxy',
  'apiproxy_revision',
  'environment',
  'dataplane',
  'developer_app',
  'api_product',
  'developer_email',
  'client_id',
  'client_ip',
  'request_verb',
  'request_path',
  'request_uri',
  'response_status_code',
  'target_response_code',
  'x_apigee_fault_code',
  'ax_execution_fault_policy_name',
  'is_error',
  'total_response_time',
  'target_response_time',
  'request_processing_latency',
  'response_processing_latency',
  'request_size',
  'response_size',
  'request_id',
  'trace_id',
  'developer',
  'organization',
  'proxy',
  'target',
] as const;

const reserved = new Set<string>(analyticsRecordFields);

/** A statistic's name: a letter, then letters, digits and underscores, at most 100 characters. */
const namePattern = '^[A-Za-z][A-Za-z0-9_]{0,99}$';

/** `text` as a value of `type`; undefined when it does not convert. */
export function convertStatistic(text: string, type: StatisticType): string | number | boolean | undefined {
  const t = text.trim();
  switch (type) {
    case 'string':
      return text;
    case 'integer':
    case 'long': {
      if (!/^[-+]?\d+$/.test(t)) return undefined;
      const n = Number(t);
      if (!Number.isSafeInteger(n)) return undefined;
      if (type === 'integer' && (n > 2147483647 || n < -2147483648)) return undefined;
      return n;
    }
    case 'float':
    case 'double': {
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return undefined;
      const n = Number(t);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'boolean':
      if (/^true$/i.test(t)) return true;
      if (/^false$/i.test(t)) return false;
      return undefined;
  }
}

export const statisticsCollector: PolicyTypeSpec = {
  type: 'StatisticsCollector',
  member: 'statisticsCollector',
  group: 'extension',
  schema: {
    type: 'object',
    description:
      "StatisticsCollector: adds custom dimensions to the transaction's analytics record (docs/operations.md#analytics), each a flow variable's value typed. Apigee: <StatisticsCollector>.",
    required: ['statistics'],
    properties: {
      statistics: {
        type: 'array',
        minItems: 1,
        maxItems: 32,
        description: 'The dimensions, at most 32, names unique. Apigee: <Statistics><Statistic>.',
        items: {
          type: 'object',
          required: ['name', 'ref'],
          description: 'One dimension. Apigee: <Statistic name= ref= type=>default</Statistic>.',
          properties: {
            name: {
              type: 'string',
              minLength: 1,
              maxLength: 100,
              pattern: namePattern,
              description:
                "The dimension's name in the record: a letter, then letters, digits, underscores (at most 100); not a name of the record's own fields, nor starting with ax_ or x_apigee_. Apigee: the name attribute.",
            },
            ref: {
              type: 'string',
              minLength: 1,
              maxLength: 256,
              description: 'The flow variable whose value is recorded. Apigee: the ref attribute.',
            },
            type: {
              type: 'string',
              enum: [...statisticTypes],
              description:
                'How the value is typed: string (default), integer, long, float, double, boolean. A value that does not convert records the default. Apigee: the type attribute.',
            },
            default: {
              type: 'string',
              maxLength: 1024,
              description:
                'Recorded when the variable is unset or does not convert to the type; must convert itself. Absent: the dimension is left out then. Apigee: the element text.',
            },
          },
        },
      },
    },
  },
  needsBody: () => false,
  validate: (config) => {
    const c = config as StatisticsCollectorConfig;
    const problems: ConfigProblem[] = [];
    const seen = new Set<string>();
    c.statistics.forEach((s, i) => {
      const lower = s.name.toLowerCase();
      if (reserved.has(lower) || lower.startsWith('ax_') || lower.startsWith('x_apigee_'))
        problems.push({
          path: `statistics[${i}].name`,
          message: `"${s.name}" is a name the analytics record reserves`,
        });
      if (seen.has(lower)) problems.push({ path: `statistics[${i}].name`, message: `"${s.name}" is given twice` });
      seen.add(lower);
      if (s.default !== undefined && convertStatistic(s.default, s.type ?? 'string') === undefined)
        problems.push({
          path: `statistics[${i}].default`,
          message: `"${s.default}" is not a ${s.type ?? 'string'}`,
        });
    });
    return problems;
  },
};
