// FlowCallout (docs/policies.md#flowcallout): runs a SharedFlow of the namespace at this step, after
// setting its parameters as flow variables. The compiler resolves the SharedFlow (a missing one is
// ResolvedRefs=False on the proxy) and refuses cycles; extproc runs the flow's steps in the caller's
// phase, and a fault in them goes to the caller's fault rules.
import type { PolicyTypeSpec } from '../index.ts';
import type { ConfigProblem } from '../schema.ts';

export interface FlowCalloutParameter {
  name: string;
  value?: string;
  ref?: string;
}

export interface FlowCalloutConfig {
  /** The SharedFlow's name, in the policy's namespace. */
  sharedFlowBundle: string;
  parameters?: FlowCalloutParameter[];
}

/** How deep FlowCallouts may nest (a proxy calling a flow calling a flow ...); the compiler refuses deeper chains. */
export const maxFlowCalloutDepth = 5;

export const flowCallout: PolicyTypeSpec = {
  type: 'FlowCallout',
  member: 'flowCallout',
  group: 'extension',
  schema: {
    type: 'object',
    description:
      "FlowCallout: runs a SharedFlow of this namespace at this step, in the caller's phase; a fault in it goes to the caller's fault rules. Apigee: <FlowCallout>.",
    required: ['sharedFlowBundle'],
    properties: {
      sharedFlowBundle: {
        type: 'string',
        minLength: 1,
        maxLength: 253,
        pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
        description: 'Name of the SharedFlow to run, in the same namespace. Apigee: <SharedFlowBundle>.',
      },
      parameters: {
        type: 'array',
        maxItems: 32,
        description:
          'Flow variables set, in order, before the shared flow runs (at most 32). Apigee: <Parameters><Parameter>.',
        items: {
          type: 'object',
          description: 'One variable and exactly one of value or ref. Apigee: <Parameter name= value= | ref=>.',
          required: ['name'],
          properties: {
            name: {
              type: 'string',
              minLength: 1,
              maxLength: 256,
              description: 'The flow variable set for the shared flow. Apigee: the name attribute.',
            },
            value: {
              type: 'string',
              maxLength: 65_536,
              description: 'A literal value. Apigee: the value attribute or the element text.',
            },
            ref: {
              type: 'string',
              minLength: 1,
              maxLength: 256,
              description: 'A flow variable whose value is copied (unset: the parameter is unset). Apigee: ref.',
            },
          },
          'x-kubernetes-validations': [
            { rule: 'has(self.value) != has(self.ref)', message: 'each parameter needs exactly one of value or ref' },
          ],
        },
      },
    },
  },
  // The step itself reads no body; the shared flow's steps are counted by the compiler where it is called.
  needsBody: () => false,
  validate: (config) => {
    const c = config as FlowCalloutConfig;
    const problems: ConfigProblem[] = [];
    (c.parameters ?? []).forEach((p, i) => {
      if ((p.value === undefined) === (p.ref === undefined))
        problems.push({ path: `parameters[${i}]`, message: 'exactly one of value or ref' });
      // A parameter is a flow variable for the shared flow, not a way to change the message past the
      // checks AssignMessage makes (docs/architecture.md#the-envoy-and-extproc-contract).
      if (/^(request|response|message)(\.|$)/.test(p.name))
        problems.push({
          path: `parameters[${i}].name`,
          message: `"${p.name}" is a message variable; a parameter sets a flow variable`,
        });
    });
    return problems;
  },
};
