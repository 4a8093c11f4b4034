// JSONThreatProtection (docs/policies.md): the five structural limits, checked by a single forward scan that
// validates the JSON grammar without building any value. A hostile body (a million nested arrays, an
// object with a million members) is rejected at the first byte past a limit, with O(depth) memory.
// The scan is the task `json.threat` (workers/tasks.ts): a large body is scanned on the worker pool.
import { GatehouseError } from '../../../../lib/errors.ts';
import type { JSONThreatProtectionConfig } from '../../../../protos/policies/security/json-threat-protection.ts';
import { DEFAULT_THREAT_FAULT_STATUS } from '../../../../protos/policies/security/threat-fault-status.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { decodeBody } from '../../flow/message.ts';
import { settle } from '../../flow/offload.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { bodyKind, messageOf, sourceUnavailable } from '../support.ts';

type Violation =
  | 'ContainerDepthExceeded'
  | 'ArrayElementCountExceeded'
  | 'ObjectEntryCountExceeded'
  | 'ObjectEntryNameLengthExceeded'
  | 'StringValueLengthExceeded'
  | 'ExecutionFailed';

/**
 * Apigee reports every violation as one code, the kind only in the faultstring
 * (docs/policies.md#jsonthreatprotection); fault rules test `fault.name = "ExecutionFailed"`.
 */
export const JSON_THREAT_FAULT = 'steps.jsonthreatprotection.ExecutionFailed';
export const JSON_THREAT_SOURCE_UNAVAILABLE = 'steps.jsonthreatprotection.SourceUnavailable';

/** Thrown inside the scanner; turned into a PolicyFault by the step. */
class JsonViolation extends GatehouseError {
  readonly violation: Violation;
  constructor(violation: Violation, message: string) {
    super('GH_ERR_JSON_VIOLATION', message);
    this.violation = violation;
  }
}

export interface Limits {
  containerDepth: number;
  arrayElementCount: number;
  objectEntryCount: number;
  objectEntryNameLength: number;
  stringValueLength: number;
}

interface Container {
  isArray: boolean;
  /** Members seen so far; -1 until the scan has looked past the opening bracket. */
  count: number;
}

/** JSON's four whitespace characters: compared, not looked up, since every token is preceded by a skip. */
const isWhitespace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const SIMPLE_ESCAPES = new Set([...'"\\/bfnrt'].map((c) => c.charCodeAt(0)));
const LITERALS = ['true', 'false', 'null'];
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;

/** A forward-only scanner over one JSON text; `scan` throws JsonViolation on the first problem. */
class JsonScanner {
  private pos = 0;
  private readonly text: string;
  private readonly limits: Limits;
  private readonly stack: Container[] = [];

  constructor(text: string, limits: Limits) {
    this.text = text;
    this.limits = limits;
  }

  scan(): void {
    this.value();
    // Iterative, not recursive: nesting lives on `stack`, so depth costs no call frames.
    while (this.stack.length > 0) {
      const top = this.stack[this.stack.length - 1]!;
      const closer = top.isArray ? 0x5d : 0x7d;
      if (top.count < 0) {
        top.count = 0;
        if (this.peek() === closer) {
          this.next();
          this.stack.pop();
        } else {
          this.member(top);
        }
        continue;
      }
      const c = this.next();
      if (c === closer) {
        this.stack.pop();
      } else if (c === 0x2c) {
        this.member(top);
      } else {
        this.fail(`expected "," or "${top.isArray ? ']' : '}'}"`);
      }
    }
    if (this.peek() !== -1) this.fail('unexpected data after the JSON value');
  }

  /** One array element or object member (the first one, or the one after a comma). */
  private member(container: Container): void {
    container.count++;
    if (container.isArray) {
      if (container.count > this.limits.arrayElementCount) {
        throw new JsonViolation(
          'ArrayElementCountExceeded',
          `Exceeded array element count, max ${this.limits.arrayElementCount} allowed`,
        );
      }
    } else {
      if (container.count > this.limits.objectEntryCount) {
        throw new JsonViolation(
          'ObjectEntryCountExceeded',
          `Exceeded object entry count, max ${this.limits.objectEntryCount} allowed`,
        );
      }
      if (this.next() !== 0x22) this.fail('expected a member name');
      const length = this.string();
      if (length > this.limits.objectEntryNameLength) {
        throw new JsonViolation(
          'ObjectEntryNameLengthExceeded',
          `Exceeded object entry name length, max ${this.limits.objectEntryNameLength} allowed`,
        );
      }
      if (this.next() !== 0x3a) this.fail('expected ":"');
    }
    this.value();
  }

  /** A value; a container is only opened here: `scan`'s loop reads its members and closes it. */
  private value(): void {
    const c = this.next();
    if (c === 0x7b || c === 0x5b) {
      if (this.stack.length + 1 > this.limits.containerDepth) {
        throw new JsonViolation(
          'ContainerDepthExceeded',
          `Exceeded container depth, max ${this.limits.containerDepth} allowed`,
        );
      }
      this.stack.push({ isArray: c === 0x5b, count: -1 });
    } else if (c === 0x22) {
      if (this.string() > this.limits.stringValueLength) {
        throw new JsonViolation(
          'StringValueLengthExceeded',
          `Exceeded string value length, max ${this.limits.stringValueLength} allowed`,
        );
      }
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      this.literal();
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.number();
    } else {
      this.fail('expected a value');
    }
  }

  /** Scans the rest of a string whose opening quote was consumed; returns its length in characters. */
  private string(): number {
    let length = 0;
    for (;;) {
      if (this.pos >= this.text.length) this.fail('unterminated string');
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x22) return length;
      if (c < 0x20) this.fail('control character in string');
      if (c === 0x5c) {
        const e = this.text.charCodeAt(this.pos++);
        if (e === 0x75) {
          HEX4.lastIndex = this.pos;
          if (!HEX4.test(this.text)) this.fail('bad \\u escape');
          this.pos += 4;
        } else if (!SIMPLE_ESCAPES.has(e)) {
          this.fail('bad escape');
        }
      }
      length++;
    }
  }

  private literal(): void {
    const start = this.pos - 1;
    const word = LITERALS[this.text.charCodeAt(start) === 0x74 ? 0 : this.text.charCodeAt(start) === 0x66 ? 1 : 2]!;
    if (!this.text.startsWith(word, start)) this.fail('expected a value');
    this.pos = start + word.length;
  }

  private number(): void {
    NUMBER.lastIndex = this.pos - 1;
    if (!NUMBER.test(this.text)) this.fail('bad number');
    this.pos = NUMBER.lastIndex;
  }

  private skipWhitespace(): number {
    while (this.pos < this.text.length && isWhitespace(this.text.charCodeAt(this.pos))) this.pos++;
    return this.pos;
  }

  /** The next significant character code without consuming it; -1 at the end. */
  private peek(): number {
    const at = this.skipWhitespace();
    return at < this.text.length ? this.text.charCodeAt(at) : -1;
  }

  private next(): number {
    const c = this.peek();
    if (c === -1) this.fail('unexpected end of input');
    this.pos++;
    return c;
  }

  private fail(reason: string): never {
    throw new JsonViolation('ExecutionFailed', `Invalid JSON: ${reason} at offset ${Math.max(0, this.pos - 1)}`);
  }
}

/** What the scan found: the first limit exceeded (or the grammar broken), or null when within every limit. */
export interface JsonThreatFinding {
  violation: Violation;
  message: string;
}

function scanJson(text: string, limits: Limits): JsonThreatFinding | null {
  try {
    new JsonScanner(text, limits).scan();
    return null;
  } catch (error) {
    if (!(error instanceof JsonViolation)) throw error;
    return { violation: error.violation, message: error.message };
  }
}

/** The first problem within `containerDepth` (and no other limit), or null: a depth bound before JSON.parse. */
export function scanJsonLimits(text: string, containerDepth: number): JsonThreatFinding | null {
  return scanJson(text, {
    containerDepth,
    arrayElementCount: Infinity,
    objectEntryCount: Infinity,
    objectEntryNameLength: Infinity,
    stringValueLength: Infinity,
  });
}

/** The task `json.threat`: a pure function of serialisable input, run inline or on a worker. */
export function jsonThreatTask(input: { body: Uint8Array; limits: Limits }): JsonThreatFinding | null {
  return scanJson(decodeBody(input.body), input.limits);
}

function threatFault(finding: JsonThreatFinding, policyName: string, status: number): PolicyFault {
  return new PolicyFault({
    status,
    errorCode: JSON_THREAT_FAULT,
    faultString: `JSONThreatProtection[${policyName}]: Execution failed. reason: ${finding.violation}: ${finding.message}`,
  });
}

/** Throws the policy's fault for `text`, or returns when it is within every limit. */
export function checkJson(
  text: string,
  limits: Limits,
  policyName: string,
  status: number = DEFAULT_THREAT_FAULT_STATUS,
): void {
  const finding = scanJson(text, limits);
  if (finding) throw threatFault(finding, policyName, status);
}

const unlimited = (value: number | undefined) => value ?? Infinity;

export const jsonThreatProtectionPolicy: PolicyImplementation<JSONThreatProtectionConfig> = {
  type: 'JSONThreatProtection',
  create(config, meta) {
    const limits: Limits = {
      containerDepth: unlimited(config.containerDepth),
      arrayElementCount: unlimited(config.arrayElementCount),
      objectEntryCount: unlimited(config.objectEntryCount),
      objectEntryNameLength: unlimited(config.objectEntryNameLength),
      stringValueLength: unlimited(config.stringValueLength),
    };
    const status = config.faultStatus ?? DEFAULT_THREAT_FAULT_STATUS;
    return (ctx) => {
      const message = messageOf(ctx, config.source);
      if (!message)
        throw sourceUnavailable('JSONThreatProtection', JSON_THREAT_SOURCE_UNAVAILABLE, meta.name, config.source);
      // Only JSON bodies are this policy's business (any spelling of a JSON type, or an untyped body
      // that looks like JSON); other kinds pass, an ambiguous Content-Type is refused (support.ts).
      if (bodyKind(message) !== 'json') return undefined;
      return settle(ctx.offload.run('json.threat', { body: message.body.bytes(), limits }), (finding) => {
        if (finding) throw threatFault(finding, meta.name, status);
        return undefined;
      });
    };
  },
};
