// Java SimpleDateFormat patterns, as Apigee's timeFormat* template functions take them, rendered in
// UTC with English names. Pure and shared: the compiler rejects a literal pattern it cannot render,
// extproc renders with the same code.
import { GatehouseError } from '../../lib/errors.ts';

/** A date/time pattern with a letter this formatter does not render, or a bad quote. */
export class TimeFormatError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_TIME_FORMAT', message);
  }
}

export interface TimeFormatter {
  /** The instant (milliseconds since the epoch) in UTC; undefined when it is not a representable date. */
  format(epochMs: number): string | undefined;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

type Field = string | { letter: string; count: number };

const pad = (value: number, count: number) => String(value).padStart(count, '0');

/** Letters with their renderer; any other ASCII letter is refused, as Java refuses it ("Illegal pattern character"). */
const RENDER: Record<string, (d: Date, count: number) => string> = {
  G: (d) => (d.getUTCFullYear() > 0 ? 'AD' : 'BC'),
  y: (d, n) => {
    const year = Math.abs(d.getUTCFullYear());
    return n === 2 ? pad(year % 100, 2) : pad(year, n);
  },
  M: (d, n) => month(d, n),
  L: (d, n) => month(d, n),
  d: (d, n) => pad(d.getUTCDate(), n),
  D: (d, n) => pad(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, n),
  F: (d, n) => pad(Math.floor((d.getUTCDate() - 1) / 7) + 1, n),
  E: (d, n) => (n >= 4 ? DAYS[d.getUTCDay()]! : DAYS[d.getUTCDay()]!.slice(0, 3)),
  u: (d, n) => pad(d.getUTCDay() === 0 ? 7 : d.getUTCDay(), n),
  a: (d) => (d.getUTCHours() < 12 ? 'AM' : 'PM'),
  H: (d, n) => pad(d.getUTCHours(), n),
  k: (d, n) => pad(d.getUTCHours() === 0 ? 24 : d.getUTCHours(), n),
  K: (d, n) => pad(d.getUTCHours() % 12, n),
  h: (d, n) => pad(d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12, n),
  m: (d, n) => pad(d.getUTCMinutes(), n),
  s: (d, n) => pad(d.getUTCSeconds(), n),
  S: (d, n) => pad(d.getUTCMilliseconds(), n),
  z: (_d, n) => (n >= 4 ? 'Coordinated Universal Time' : 'UTC'),
  Z: () => '+0000',
  X: () => 'Z',
};

function month(d: Date, count: number): string {
  const m = d.getUTCMonth();
  if (count >= 4) return MONTHS[m]!;
  if (count === 3) return MONTHS[m]!.slice(0, 3);
  return pad(m + 1, count);
}

const isLetter = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

/** Parses a pattern once; throws TimeFormatError for what Java would refuse or this formatter cannot render. */
export function compileTimeFormat(pattern: string): TimeFormatter {
  const fields: Field[] = [];
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i]!;
    if (c === "'") {
      if (pattern[i + 1] === "'") {
        fields.push("'");
        i += 2;
        continue;
      }
      let text = '';
      let j = i + 1;
      for (;;) {
        if (j >= pattern.length) throw new TimeFormatError(`unterminated quote in date/time pattern "${pattern}"`);
        if (pattern[j] === "'") {
          if (pattern[j + 1] === "'") {
            text += "'";
            j += 2;
            continue;
          }
          break;
        }
        text += pattern[j];
        j++;
      }
      fields.push(text);
      i = j + 1;
      continue;
    }
    if (!isLetter(c)) {
      fields.push(c);
      i++;
      continue;
    }
    let count = 1;
    while (pattern[i + count] === c) count++;
    if (!(c in RENDER)) {
      const why = 'YwW'.includes(c) ? 'week-based fields are not supported' : 'not a pattern letter';
      throw new TimeFormatError(`date/time pattern "${pattern}": "${c}" is ${why}`);
    }
    if (c === 'X' && count > 3)
      throw new TimeFormatError(`date/time pattern "${pattern}": "X" repeats at most 3 times`);
    fields.push({ letter: c, count });
    i += count;
  }
  return {
    format(epochMs) {
      const date = new Date(epochMs);
      if (Number.isNaN(date.getTime())) return undefined;
      return fields.map((f) => (typeof f === 'string' ? f : RENDER[f.letter]!(date, f.count))).join('');
    },
  };
}

/** Why `pattern` cannot be used, or undefined. */
export function timeFormatProblem(pattern: string): string | undefined {
  try {
    compileTimeFormat(pattern);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
