// RaiseFault (docs/policies.md): stop the flow with a configured response. Header values and the payload are
// templates; without a payload the standard fault body names the policy. Apigee's FaultResponse
// elements run in the order assignVariable, copy, remove, add, then the configured headers and payload
// (Set): Add appends a value to a header already there, Set replaces it.
import { raiseFault, type RaiseFaultConfig } from '../../../../protos/policies/mediation/raise-fault.ts';
import { checkHeaderChange } from '../../flow/allowed-changes.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { compilePayloadTemplate } from '../../flow/templates.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { checkConfig, expandTemplate } from '../support.ts';

export const raiseFaultPolicy: PolicyImplementation<RaiseFaultConfig> = {
  type: 'RaiseFault',
  create(config, meta) {
    checkConfig(raiseFault, config, meta);
    const headerTemplates = Object.entries(config.headers ?? {});
    const addTemplates = Object.entries(config.add?.headers ?? {});
    const contentType = config.payload?.contentType ?? 'text/plain';
    // The payload escapes each value for where it sits in its content type (flow/templates.ts).
    const payloadTemplate = config.payload && compilePayloadTemplate(config.payload.content, contentType);
    return (ctx) => {
      for (const a of config.assignVariable ?? []) {
        const value =
          a.ref !== undefined
            ? ctx.variables.get(a.ref)
            : a.template !== undefined
              ? expandTemplate(ctx, a.template)
              : a.value;
        ctx.variables.set(a.name, value);
      }
      const headers: Record<string, string> = {};
      let copiedBody: { contentType: string; content: string } | undefined;
      if (config.copy) {
        const source = ctx.variables.message(config.copy.source ?? 'request');
        for (const name of config.copy.headers ?? []) {
          const values = source?.headers.getAll(name) ?? [];
          if (values.length > 0) headers[name.toLowerCase()] = values.join(',');
        }
        if (config.copy.payload && source)
          copiedBody = { contentType: source.headers.get('content-type') ?? 'text/plain', content: source.body.text() };
      }
      for (const name of config.remove?.headers ?? []) delete headers[name.toLowerCase()];
      for (const [name, template] of addTemplates) {
        const key = name.toLowerCase();
        const value = expandTemplate(ctx, template);
        checkHeaderChange('add', key, value);
        // One value per name in the fault's header map: an added value joins the one there as a
        // second list element (RFC 9110 5.3), as Apigee's Add keeps the copied value.
        headers[key] = headers[key] === undefined ? value : `${headers[key]},${value}`;
      }
      for (const [name, value] of headerTemplates) headers[name.toLowerCase()] = expandTemplate(ctx, value);
      // Envoy applies an immediate response's headers with the same mutation rules (sendImmediateResponse).
      for (const [name, value] of Object.entries(headers)) checkHeaderChange('set', name.toLowerCase(), value);
      throw new PolicyFault({
        status: config.statusCode,
        errorCode: 'steps.raisefault.RaiseFault',
        faultString: `Raising fault. Fault name : ${meta.name}`,
        reasonPhrase: config.reasonPhrase,
        headers,
        body: payloadTemplate ? { contentType, content: payloadTemplate.render(ctx.variables) } : copiedBody,
      });
    };
  },
};
