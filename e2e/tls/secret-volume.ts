// A Secret volume as kubelet lays it out and updates it (its AtomicWriter): the files live in a
// timestamped directory, `..data` is a symlink to it, and each key is a symlink through `..data`.
// An update writes a new timestamped directory, points `..data_tmp` at it, renames `..data_tmp` over
// `..data` (the one atomic step), then removes the old directory.
import {
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class SecretVolume {
  readonly dir: string;
  private generation = 0;

  constructor(dir = mkdtempSync(join(tmpdir(), 'gatehouse-secret-'))) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /** Path of a key's file as a pod sees it ("tls.crt"). */
  path(key: string): string {
    return join(this.dir, key);
  }

  /** Replaces the whole volume's content at once, as kubelet does when the Secret changes. */
  write(data: Record<string, string>): void {
    const stamp = `..${new Date().toISOString().replace(/[-:.TZ]/g, '_')}${++this.generation}`;
    const target = join(this.dir, stamp);
    mkdirSync(target);
    for (const [key, value] of Object.entries(data)) writeFileSync(join(target, key), value, { mode: 0o600 });
    const data_ = join(this.dir, '..data');
    const previous = existsSync(data_) ? readlinkSync(data_) : undefined;
    const tmp = join(this.dir, '..data_tmp');
    rmSync(tmp, { force: true });
    symlinkSync(stamp, tmp);
    renameSync(tmp, data_);
    for (const key of Object.keys(data)) {
      if (!existsSync(join(this.dir, key))) symlinkSync(join('..data', key), join(this.dir, key));
    }
    if (previous) rmSync(join(this.dir, previous), { recursive: true, force: true });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
