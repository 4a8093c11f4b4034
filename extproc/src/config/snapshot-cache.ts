// The last good runtime snapshot on disk (--cache-dir), so that extproc can start and serve when the
// control plane is unreachable. Stored as the bytes served over ADS; written to a temporary file,
// flushed and renamed over the old one, so a crash mid-write never leaves a torn snapshot.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const cacheFileName = 'runtime-snapshot.pb';

export class SnapshotDiskCache {
  readonly file: string;
  private readonly dir: string;
  private writes = 0;

  constructor(dir: string) {
    this.dir = dir;
    this.file = join(dir, cacheFileName);
  }

  /** The cached bytes, or undefined when there are none. */
  async read(): Promise<Buffer | undefined> {
    try {
      return await readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const temp = join(this.dir, `.${cacheFileName}.${process.pid}.${++this.writes}.tmp`);
    try {
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.file);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }
}
