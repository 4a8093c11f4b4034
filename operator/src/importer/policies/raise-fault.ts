// <RaiseFault> -> RaiseFault (docs/policies.md#raisefault). The fault response is built from
// <FaultResponse><Set> (status, reason, headers, payload) and <Add><Headers> (add.headers: appended,
// so a header set too keeps both as Apigee does). Other operations have no counterpart here.
import { payload } from './message-operations.ts';
import { compact, int, namedValues, type PolicyConverter } from './support.ts';

export const raiseFaultConverter: PolicyConverter = {
  type: 'RaiseFault',
  convert(el, ctx) {
    const fr = el.child('FaultResponse');
    const set = fr?.child('Set');
    const add = fr?.child('Add');
    const status = set?.child('StatusCode');
    const added = namedValues(add?.child('Headers'), 'Header', ctx) ?? {};
    const headers = namedValues(set?.child('Headers'), 'Header', ctx) ?? {};
    // Unresolved template variables expand to "" (as IgnoreUnresolvedVariables true); the fault
    // response is always a new response, whatever an <AssignTo> says.
    for (const parent of [el, fr])
      for (const name of ['IgnoreUnresolvedVariables', 'AssignTo']) parent?.child(name)?.consume();
    const short = el.child('ShortFaultReason');
    if (short && short.text.toLowerCase() === 'true')
      ctx.unsupported(short.xpath, 'no short fault reasons in Gatehouse');
    return compact({
      // Apigee's default status for a raised fault is 500.
      statusCode: status ? (int(status.text, status.xpath, ctx, { min: 200, max: 599 }) ?? 500) : 500,
      reasonPhrase: set?.childText('ReasonPhrase'),
      headers: Object.keys(headers).length > 0 ? headers : undefined,
      add: Object.keys(added).length > 0 ? { headers: added } : undefined,
      payload: payload(set?.child('Payload'), ctx),
    });
  },
};
