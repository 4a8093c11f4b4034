// <AssignMessage> -> AssignMessage (docs/policies.md#assignmessage). Apigee runs the elements in
// document order; when that order is Gatehouse's fixed shorthand order (remove, copy, add, set,
// assignVariable, each once) the shorthand members are written, else `operations` in document order.
import { fixedOrder, operationsOf } from './message-operations.ts';
import { compact, type PolicyConverter } from './support.ts';

export const assignMessageConverter: PolicyConverter = {
  type: 'AssignMessage',
  convert(el, ctx) {
    let assignTo: 'request' | 'response' | undefined;
    const to = el.child('AssignTo');
    if (to) {
      to.ignore('transport');
      const createNew = to.attr('createNew') === 'true';
      const type = to.attr('type');
      const variable = to.text;
      if (createNew || (variable !== '' && variable !== 'request' && variable !== 'response')) {
        ctx.unsupported(
          to.xpath,
          `a new message (${variable || type || 'unnamed'}) has no counterpart: Gatehouse changes request or response`,
        );
        return undefined;
      }
      if (variable === 'request' || variable === 'response') assignTo = variable;
      else if (type === 'request' || type === 'response') assignTo = type;
    }
    const ignore = el.child('IgnoreUnresolvedVariables');
    if (ignore && ignore.text.toLowerCase() === 'false')
      ctx.unsupported(
        ignore.xpath,
        'unresolved template variables expand to "" in Gatehouse; they never raise a fault',
      );
    const ops = operationsOf(el, ctx);
    const ranks = ops.map((o) => fixedOrder.indexOf(o.kind));
    const inFixedOrder = ranks.every(
      (r, i) => i === 0 || r > ranks[i - 1]! || (r === ranks[i - 1] && ops[i]!.kind === 'assignVariable'),
    );
    if (inFixedOrder) {
      const variables = ops.filter((o) => o.kind === 'assignVariable').map((o) => o.value);
      const one = (k: string) => ops.find((o) => o.kind === k)?.value;
      return compact({
        assignTo,
        remove: one('remove'),
        copy: one('copy'),
        add: one('add'),
        set: one('set'),
        assignVariable: variables.length > 0 ? variables : undefined,
      });
    }
    return compact({
      assignTo,
      operations: ops.map((o) => ({ [o.kind]: o.kind === 'assignVariable' ? [o.value] : o.value })),
    });
  },
};
