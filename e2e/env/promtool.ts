// Prometheus' promtool for the tests of the chart's alerting rules (`promtool check rules`, `promtool
// test rules`): Debian's `prometheus` package ships it. Installed with apt-get when missing, the way
// redis.ts installs redis-server (the machines run as root); otherwise a clear message says what to do.
import { spawnSync } from 'node:child_process';
import { TestEnvToolMissingError } from './errors.ts';

const PACKAGE = 'prometheus';

function which(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** promtool's path: GATEHOUSE_PROMTOOL, promtool on PATH, or installed now with apt-get. */
export function ensurePromtool(log: (line: string) => void = () => {}): string {
  const found = process.env.GATEHOUSE_PROMTOOL ?? which('promtool');
  if (found) return found;
  if (!which('apt-get') || process.getuid?.() !== 0) {
    throw new TestEnvToolMissingError(
      `promtool is not installed and cannot be installed here (needs apt-get as root). Install Debian's ${PACKAGE} ` +
        'package (or any Prometheus release), or set GATEHOUSE_PROMTOOL to a promtool binary.',
    );
  }
  log(`installing promtool (Debian package ${PACKAGE}) with apt-get`);
  // The package also holds the Prometheus server; nothing here uses it (in containers policy-rc.d keeps
  // Debian from starting it; on a machine with systemd, `systemctl disable --now prometheus` stops it).
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', PACKAGE],
  ]) {
    const run = spawnSync('apt-get', args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (run.status !== 0)
      throw new TestEnvToolMissingError(
        `apt-get ${args.join(' ')} failed; install promtool (Debian package ${PACKAGE}) by hand`,
      );
  }
  const installed = which('promtool');
  if (!installed) throw new TestEnvToolMissingError(`apt-get installed ${PACKAGE} but promtool is not on PATH`);
  return installed;
}
