// Graceful shutdown shared by every long-running command: on SIGTERM or SIGINT run the registered
// closers (newest first: stop accepting, drain in-flight streams, then close stores), then exit.
// A second signal, or a drain that outlasts the grace period, exits at once.
import type { Logger } from './log.ts';

type Closer = () => Promise<void> | void;

export class Lifecycle {
  private readonly closers: Array<{ name: string; close: Closer }> = [];
  private stopping: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly graceMs: number;

  constructor(log: Logger, graceMs = 25_000) {
    this.log = log;
    this.graceMs = graceMs;
  }

  /** Registers something to close at shutdown; closed in reverse order of registration. */
  onStop(name: string, close: Closer): void {
    this.closers.push({ name, close });
  }

  /** Installs SIGTERM/SIGINT handlers; resolves when shutdown has finished. */
  handleSignals(): Promise<void> {
    return new Promise((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        if (this.stopping) {
          this.log.warn({ signal }, 'second signal, exiting now');
          process.exit(1);
        }
        this.log.info({ signal }, 'shutting down');
        void this.stop().then(resolve);
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      // Started by a parent over an IPC channel (`gatehouse dev` starts extproc so): when the parent
      // goes, however it went (a crash, SIGKILL), the channel closes and this process stops too,
      // rather than living on as an orphan holding its ports.
      if (process.channel) {
        process.channel.unref();
        process.once('disconnect', () => {
          if (this.stopping) return;
          this.log.info('parent process gone, shutting down');
          void this.stop().then(resolve);
        });
      }
    });
  }

  stop(): Promise<void> {
    this.stopping ??= this.runClosers();
    return this.stopping;
  }

  private async runClosers(): Promise<void> {
    const timer = setTimeout(() => {
      this.log.error({ graceMs: this.graceMs }, 'shutdown grace period over, exiting');
      process.exit(1);
    }, this.graceMs);
    timer.unref();
    for (const { name, close } of [...this.closers].reverse()) {
      try {
        await close();
      } catch (err) {
        this.log.error({ err, part: name }, 'error while closing');
      }
    }
    clearTimeout(timer);
  }
}
