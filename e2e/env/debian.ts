// Debian packages that some tests compare against or read fixtures from (xsltproc as the XSLT
// reference, a package's public WSDL examples): installed with apt-get when missing, the way
// promtool.ts and redis.ts install theirs (the machines run as root). Where that cannot be done the
// answer is false and those tests skip, saying why; nothing else depends on them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

function present(probe: string): boolean {
  if (probe.startsWith('/')) return existsSync(probe);
  return spawnSync('sh', ['-c', `command -v ${probe}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Whether `probe` (an absolute file path, or a command name) is there, installing Debian package `pkg`
 * first when it is not and apt-get can run as root.
 */
export function ensureDebianPackage(pkg: string, probe: string): boolean {
  if (present(probe)) return true;
  if (process.getuid?.() !== 0 || !present('apt-get')) return false;
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', pkg],
  ]) {
    const run = spawnSync('apt-get', args, {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (run.status !== 0) return false;
  }
  return present(probe);
}
