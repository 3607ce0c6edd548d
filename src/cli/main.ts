#!/usr/bin/env node
// The `sluice` command. Each verb lives in src/cli/commands/<verb>.ts and registers itself here.
import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { BridgeError, ConfigError, PreflightError, errorMessage } from '../core/errors.js';
import { secrets } from '../config/secrets.js';
import { EXIT_RUNTIME, EXIT_USAGE } from './exit-codes.js';
import { registerCommands } from './commands/index.js';

// Events are short-lived: a larger young generation lets them die there instead of being promoted,
// which keeps old-generation collections (and their pauses, the p99 of commit→ack) rare.
setFlagsFromString('--max-semi-space-size=32');

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('Legacy databases to a NATS JetStream change stream and a modern REST API')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError();
  registerCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err);
  }
}

export function reportError(err: unknown): number {
  // Error messages can carry what a driver echoed back (a URL, a DSN): known secrets never show.
  const stderr = { write: (text: string) => process.stderr.write(secrets.redact(text)) };
  if (err instanceof CommanderError) {
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
    )
      return 0;
    return EXIT_USAGE;
  }
  if (err instanceof ConfigError) {
    stderr.write(`sluice: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof PreflightError) {
    stderr.write(`sluice: ${err.message}\n  ${err.problems.join('\n  ')}\n`);
    return EXIT_RUNTIME;
  }
  const code = err instanceof BridgeError ? ` [${err.code}]` : '';
  stderr.write(`sluice: ${errorMessage(err)}${code}\n`);
  if (process.env.SLUICE_DEBUG) stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  return EXIT_RUNTIME;
}

const invokedDirectly = process.argv[1] !== undefined && /[\\/]main\.(ts|js)$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv).then(
    (code) => process.exit(code),
    (err: unknown) => process.exit(reportError(err)),
  );
}
