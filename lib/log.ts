// JSON-lines logging for every process (pino). Secrets never go through here: callers log names and
// hashes, not values; the redact list is a second line of defence.
//
// Line shape (docs/operations.md#logs): by default `level` is its name ("info", "warn", ...) and `time`
// an ISO 8601 UTC timestamp, what log pipelines (Loki, Elasticsearch, Cloud Logging) parse without a
// mapping; GATEHOUSE_LOG_FORMAT=pino keeps pino's own numeric level and epoch milliseconds.
import { pino, stdTimeFunctions, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export type LogFormat = 'json' | 'pino';

/** The line-shape options of a LogFormat (also for tests that build their own pino). */
export function logFormatOptions(format: LogFormat): Pick<LoggerOptions, 'formatters' | 'timestamp'> {
  if (format === 'pino') return {};
  return { formatters: { level: (label) => ({ level: label }) }, timestamp: stdTimeFunctions.isoTime };
}

function formatFromEnv(): LogFormat {
  return process.env.GATEHOUSE_LOG_FORMAT === 'pino' ? 'pino' : 'json';
}

export function createLogger(
  component: string,
  level = process.env.GATEHOUSE_LOG_LEVEL ?? 'info',
  format: LogFormat = formatFromEnv(),
): Logger {
  return pino({
    level,
    base: { component },
    ...logFormatOptions(format),
    redact: {
      paths: [
        '*.consumerKey',
        '*.consumerSecret',
        '*.password',
        '*.token',
        '*.authorization',
        '*.apiKey',
        'req.headers.authorization',
        'req.headers["x-api-key"]',
      ],
      censor: '[redacted]',
    },
  });
}
