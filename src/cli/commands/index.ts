import type { Command } from 'commander';
import { registerDemo } from './demo.js';
import { registerRun } from './run.js';
import { registerStatus } from './status.js';
import { registerTail } from './tail.js';
import { registerValidate } from './validate.js';
import { registerInit } from './init.js';
import { registerHashKey } from './hash-key.js';
import { registerServe } from './serve.js';
import { registerMigrate } from './migrate.js';
import { registerWebhooks } from './webhooks.js';
import { registerVerify } from './verify.js';
import { registerSink } from './sink.js';
import { registerSnapshot } from './snapshot.js';

/** The verbs of the `sluice` command (README "Using it"); each verb adds one line here. */
export function registerCommands(program: Command): void {
  registerRun(program);
  registerValidate(program);
  registerStatus(program);
  registerTail(program);
  registerDemo(program);
  registerInit(program);
  registerHashKey(program);
  registerServe(program);
  registerMigrate(program);
  registerWebhooks(program);
  registerVerify(program);
  registerSink(program);
  registerSnapshot(program);
}
