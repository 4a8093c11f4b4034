// JSON-lines logging for every process (pino). Secrets never go through here: callers log names and
// hashes, not values; the redact list is a second line of defence.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(component: string, level = process.env.GATEHOUSE_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { component },
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
