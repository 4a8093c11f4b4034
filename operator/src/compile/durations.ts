// Kubernetes-style durations ("200ms", "30s", "1h30m") to milliseconds, and milliseconds to the proto3
// JSON form of google.protobuf.Duration ("0.200s").
const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration the schema already accepted (pattern durationPattern). */
export function durationMs(text: string): number {
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g))
    total += Number(amount) * unitMs[unit as keyof typeof unitMs];
  return Math.round(total);
}

export function protoDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const rest = ms % 1000;
  return rest === 0 ? `${seconds}s` : `${seconds}.${String(rest).padStart(3, '0')}s`;
}
