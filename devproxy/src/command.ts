// `gatehouse devproxy`: its flags, defaults and help, declared once. Loads only lib/cli; devproxy itself
// is imported when the command runs.
import { defineCommand } from '../../lib/cli/command.ts';
import { hostPort, port, text, type FlagValues } from '../../lib/cli/flags.ts';
import { xdsTlsConfig, xdsTlsFlags } from '../../lib/cli/tls.ts';

const flags = {
  xds: hostPort({ default: { host: '127.0.0.1', port: 18000 }, description: 'the xDS server to subscribe to' }),
  node: text({ value: 'ID', default: 'devproxy', description: 'xDS node id' }),
  'admin-port': port({
    default: 9901,
    description: "admin endpoint on 127.0.0.1, at Envoy's paths: /ready, /stats/prometheus",
  }),
  ...xdsTlsFlags(),
};

function devproxyOptions(v: FlagValues<typeof flags>) {
  return { ...v, xdsTls: xdsTlsConfig(v) };
}

export type DevproxyOptions = ReturnType<typeof devproxyOptions>;

export const devproxyCommand = defineCommand({
  name: 'devproxy',
  summary: 'the Envoy stand-in for development and tests (not for production: use Envoy)',
  usage: 'gatehouse devproxy --xds HOST:PORT',
  flags,
  options: devproxyOptions,
  run: async (o) => (await import('./main.ts')).runDevproxy(o),
});
