// <StatisticsCollector> -> StatisticsCollector (docs/policies.md#statisticscollector):
// <Statistics><Statistic name="n" ref="var" type="STRING">default</Statistic></Statistics> becomes
// statistics [{name, ref, type, default}], the type lowercased (Apigee accepts either case). A statistic
// without name or ref, with a type Gatehouse does not have, a reserved name or a default that does
// not convert is reported and left out.
import {
  statisticTypes,
  statisticsCollector,
  type Statistic,
  type StatisticType,
} from '../../../../protos/policies/extension/statistics-collector.ts';
import { compact, type PolicyConverter } from './support.ts';

export const statisticsCollectorConverter: PolicyConverter = {
  type: 'StatisticsCollector',
  convert(el, ctx) {
    const statistics = (el.child('Statistics')?.all('Statistic') ?? []).flatMap((s): Statistic[] => {
      const name = s.attr('name');
      const ref = s.attr('ref');
      if (!name || !ref) {
        ctx.unsupported(s.xpath, 'a statistic needs name= and ref=');
        return [];
      }
      const type = (s.attr('type') ?? 'string').toLowerCase();
      if (!(statisticTypes as readonly string[]).includes(type)) {
        ctx.unsupported(s.xpath, `type "${s.attr('type')}" is not one of ${statisticTypes.join(', ')}`);
        return [];
      }
      const text = s.text.trim();
      const statistic = compact({
        name,
        ref,
        type: type as StatisticType,
        default: text === '' ? undefined : text,
      }) as Statistic;
      const problems = statisticsCollector.validate!({ statistics: [statistic] });
      if (problems.length > 0) {
        ctx.unsupported(s.xpath, problems.map((p) => p.message).join('; '));
        return [];
      }
      return [statistic];
    });
    if (statistics.length === 0) {
      ctx.unsupported(el.xpath, 'no <Statistic> converted: nothing to record');
      return undefined;
    }
    return { statistics };
  },
};
