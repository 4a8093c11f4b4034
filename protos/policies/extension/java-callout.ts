// JavaCallout: run a Java class compiled against Gatehouse's callout interface jar (java/,
// docs/policies.md#javacallout) in the Java callout host, over Apigee's ExternalCallout protocol.
import type { PolicyTypeSpec } from '../index.ts';
import type { ConfigProblem } from '../schema.ts';
import { stringList } from '../schema.ts';

export interface JavaCalloutConfig {
  /** Apigee <ClassName>: the class implementing com.apigee.flow.execution.spi.Execution. */
  className: string;
  /** Apigee <ResourceURL>: java://NAME.jar, a jar in the host's callout folder. */
  resourceURL: string;
  /** Apigee <Properties><Property name="...">: passed to the class's Map<String, String> constructor. */
  properties?: Record<string, string>;
  /**
   * Flow variables sent to the callout (its getVariable sees these, and message-backed names such as
   * request.header.X). Gatehouse only: Apigee's callout reads any variable in process.
   */
  flowVariables?: string[];
  /** Whether the message content is sent (and so buffered); default true. Gatehouse only. */
  sendContent?: boolean;
  /** Longest the callout may run, milliseconds (default 1000). Gatehouse only. */
  timeoutMs?: number;
}

/** Java class names: dotted identifiers (a nested class with $). */
const CLASS_NAME = '^[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*$';
/** java://NAME.jar with a plain file name: the host refuses folders and traversal too. */
const RESOURCE_URL = '^java://[A-Za-z0-9][A-Za-z0-9._-]{0,200}\\.jar$';

export const javaCallout: PolicyTypeSpec = {
  type: 'JavaCallout',
  member: 'javaCallout',
  group: 'extension',
  schema: {
    type: 'object',
    description:
      'JavaCallout: runs a Java class (com.apigee.flow.execution.spi.Execution, compiled against the gatehouse-callout-api jar) in the Java callout host sidecar; an exception, a null or ABORT result, a timeout or an unavailable host raise steps.javacallout.ExecutionError (500). Apigee: <JavaCallout>.',
    required: ['className', 'resourceURL'],
    properties: {
      className: {
        type: 'string',
        minLength: 1,
        maxLength: 512,
        pattern: CLASS_NAME,
        description: 'Fully qualified name of the callout class. Apigee: <ClassName>.',
      },
      resourceURL: {
        type: 'string',
        maxLength: 216,
        pattern: RESOURCE_URL,
        description:
          "java://NAME.jar: the jar in the host's callout folder (the DataPlane's javaCallouts volume). Apigee: <ResourceURL>.",
      },
      properties: {
        type: 'object',
        maxProperties: 64,
        description:
          "Properties passed, as a Map<String, String>, to the class's constructor (literal values). Apigee: <Properties><Property name>.",
        additionalProperties: { type: 'string', maxLength: 8192, description: 'The value (at most 8192 characters).' },
      },
      flowVariables: stringList(
        'Flow variables the callout may read with getVariable (at most 64), besides the message-backed names request.header.X, request.queryparam.X, request.content, request.verb, request.uri, response.header.X, response.content and response.status.code. Gatehouse only: Apigee callouts read any variable in process.',
        64,
        256,
      ),
      sendContent: {
        type: 'boolean',
        description:
          'Whether the message\'s content is sent to the callout (and so buffered); default true. false: getContent() reads "". Gatehouse only.',
      },
      timeoutMs: {
        type: 'integer',
        minimum: 1,
        maximum: 60000,
        description:
          "Longest the callout may run, milliseconds (default 1000; the host's --max-timeout-ms caps it): past it steps.javacallout.ExecutionError. Gatehouse only.",
      },
    },
  },
  needsBody: (config) => (config as JavaCalloutConfig).sendContent !== false,
  validate: (config) => {
    const c = config as JavaCalloutConfig;
    const problems: ConfigProblem[] = [];
    // The schema says the same; extproc runs only this check, and the host trusts no name either.
    if (!new RegExp(RESOURCE_URL).test(c.resourceURL))
      problems.push({ path: 'resourceURL', message: `${JSON.stringify(c.resourceURL)} is not java://NAME.jar` });
    if (!new RegExp(CLASS_NAME).test(c.className))
      problems.push({ path: 'className', message: `${JSON.stringify(c.className)} is not a Java class name` });
    for (const name of Object.keys(c.properties ?? {})) {
      if (name === '' || name.length > 256)
        problems.push({ path: `properties.${name}`, message: 'a property name has 1 to 256 characters' });
    }
    return problems;
  },
};
