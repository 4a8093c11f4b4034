// RaiseFault (DESIGN 4a): stop the flow with a configured response. Header values and the payload are
// templates; without a payload the standard fault body names the policy.
import type { RaiseFaultConfig } from '../../../../protos/policies/mediation/raise-fault.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { expandTemplate } from '../support.ts';

export const raiseFaultPolicy: PolicyImplementation<RaiseFaultConfig> = {
  type: 'RaiseFault',
  create(config, meta) {
    const headerTemplates = Object.entries(config.headers ?? {});
    return (ctx) => {
      const headers = Object.fromEntries(headerTemplates.map(([name, value]) => [name, expandTemplate(ctx, value)]));
      const payload = config.payload;
      throw new PolicyFault({
        status: config.statusCode,
        errorCode: 'steps.raisefault.RaiseFault',
        faultString: `Raising fault. Fault name : ${meta.name}`,
        reasonPhrase: config.reasonPhrase,
        headers,
        body: payload && {
          contentType: payload.contentType ?? 'text/plain',
          content: expandTemplate(ctx, payload.content),
        },
      });
    };
  },
};
