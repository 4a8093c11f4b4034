// HttpConnectionManager access_log -> the JSON formats devproxy writes: envoy.access_loggers.stdout
// (StdoutAccessLog) with log_format.json_format, no filter. Any other logger, a filter, a text format
// or an operator devproxy does not play is rejected (NACK), so a line devproxy writes is the line Envoy
// would write.
import { parseJsonFormat, type JsonAccessLogFormat } from '../access-log/format.ts';
import { ConfigRejectedError } from '../errors.ts';
import { unpackAny, type Decoded, type PackedAny } from '../xds/envoy-protos.ts';

export const stdoutAccessLogTypeUrl = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';

export function parseAccessLogs(list: Decoded[] | undefined, where: string): JsonAccessLogFormat[] {
  return (list ?? []).map((entry, i) => {
    const at = `${where}: access_log[${i}]`;
    if (entry.filter) throw new ConfigRejectedError(`${at}: filter is not supported by devproxy`);
    const any = entry.typed_config as PackedAny | undefined;
    if (any?.type_url !== stdoutAccessLogTypeUrl)
      throw new ConfigRejectedError(`${at}: only ${stdoutAccessLogTypeUrl} is supported by devproxy`);
    const config = unpackAny(any, stdoutAccessLogTypeUrl);
    const format = config.log_format as Decoded | null;
    if (!format?.json_format)
      throw new ConfigRejectedError(`${at}: devproxy writes only log_format.json_format (not the default text format)`);
    const formatters = (format.formatters ?? []) as unknown[];
    if (formatters.length > 0) throw new ConfigRejectedError(`${at}: log_format.formatters are not supported`);
    const options = format.json_format_options as Decoded | null;
    if (options?.sort_properties) throw new ConfigRejectedError(`${at}: json_format_options are not supported`);
    return parseJsonFormat(format.json_format as Decoded, Boolean(format.omit_empty_values), at);
  });
}
