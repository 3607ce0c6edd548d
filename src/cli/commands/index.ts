import type { Command } from 'commander';
import { registerRun } from './run.js';
import { registerValidate } from './validate.js';

/** The verbs of DESIGN.md "Command line"; each verb adds one line here. */
export function registerCommands(program: Command): void {
  registerRun(program);
  registerValidate(program);
}
