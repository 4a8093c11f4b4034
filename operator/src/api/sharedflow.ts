// SharedFlow (docs/api.md, docs/policies.md#flowcallout): a reusable sequence of ApiPolicy steps of its
// namespace, run where a FlowCallout step calls it (from an ApiProxy or another SharedFlow) or at a
// DataPlane's flow hooks. Apigee: a shared flow bundle's sharedflows/default.xml.
import { step } from './apiproxy.ts';
import { compiledStatusBase } from './common.ts';
import { array, object, optional, type Infer } from './schema.ts';

export const sharedFlowSpec = object(
  {
    steps: optional(
      array(step, {
        maxItems: 64,
        description:
          'The steps (at most 64), in order, each an ApiPolicy of this namespace under an optional condition. They run in the phase of whoever calls the flow (request or response). Apigee: <SharedFlow><Step>.',
      }),
    ),
  },
  {
    description:
      "A shared flow: steps of ApiPolicies of this namespace that ApiProxies and other SharedFlows of the namespace call with a FlowCallout policy, and that a DataPlane of this namespace may run on every proxy it serves (spec.flowHooks). A fault in it goes to the caller's fault rules. Apigee: a shared flow.",
  },
);
export type SharedFlowSpec = Infer<typeof sharedFlowSpec>;

export const sharedFlowStatus = object(
  { ...compiledStatusBase },
  { description: 'What the operator made of this SharedFlow, written by the operator.' },
);
