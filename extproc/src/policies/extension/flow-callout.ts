// FlowCallout (docs/policies.md#flowcallout): this step sets the parameters as flow variables; the flow
// engine then runs the SharedFlow the flow compiler attached to the step (flow/compile.ts), in the
// caller's phase, so a fault in it goes to the caller's fault rules.
import { flowCallout, type FlowCalloutConfig } from '../../../../protos/policies/extension/flow-callout.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';

export const flowCalloutPolicy: PolicyImplementation<FlowCalloutConfig> = {
  type: 'FlowCallout',
  create(config, meta) {
    checkConfig(flowCallout, config, meta);
    const parameters = config.parameters ?? [];
    return (ctx) => {
      // All read first, then set: a parameter's ref sees the caller's value, not an earlier parameter's.
      const values = parameters.map((p) => (p.ref !== undefined ? ctx.variables.get(p.ref) : p.value));
      parameters.forEach((p, i) => ctx.variables.set(p.name, values[i]));
      return undefined;
    };
  },
};
