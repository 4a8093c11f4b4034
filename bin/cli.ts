// The `gatehouse` command line: composes the commands each plane declares (its flags, defaults and
// help, once, in its command.ts), prints help and maps errors to exit codes. The command modules load
// only lib/cli; a command's implementation is imported when it runs, so `--help` stays fast and one
// plane's dependencies never load for another.
import { commandHelp, type Command } from '../lib/cli/command.ts';
import { GatehouseError, UsageError } from '../lib/errors.ts';
import { devproxyCommand } from '../devproxy/src/command.ts';
import { extprocCommand } from '../extproc/src/command.ts';
import {
  compileCommand,
  importCommand,
  operatorCommand,
  statusCommand,
  traceCommand,
} from '../operator/src/command.ts';
import { devCommand } from './dev.ts';

export const commands: Readonly<Record<string, Command>> = Object.fromEntries(
  [
    operatorCommand,
    extprocCommand,
    compileCommand,
    statusCommand,
    traceCommand,
    importCommand,
    devCommand,
    devproxyCommand,
  ].map((c) => [c.name, c]),
);

export function mainHelp(): string {
  const rows = Object.values(commands).map((c) => `  ${c.name.padEnd(10)} ${c.summary}`);
  return (
    'gatehouse: Kubernetes-native API management on Envoy\n\n' +
    `Usage: gatehouse <command> [options]\n\nCommands:\n${rows.join('\n')}\n\n` +
    "Run `gatehouse <command> --help` for a command's options.\n" +
    'Exit codes: 0 ok, 1 invalid input (status: regions disagree), 2 usage error or not available.\n'
  );
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    const { default: pkg } = await import('../package.json', { with: { type: 'json' } });
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  try {
    const command = commands[name];
    if (!command) throw new UsageError(`unknown command "${name}"; commands: ${Object.keys(commands).join(', ')}`);
    const options = command.parse(rest);
    if (options === 'help') {
      process.stdout.write(commandHelp(command));
      return 0;
    }
    return await command.run(options);
  } catch (err) {
    if (err instanceof GatehouseError) {
      process.stderr.write(`gatehouse: ${err.message} [${err.code}]\n`);
      return err.exitCode;
    }
    throw err;
  }
}
