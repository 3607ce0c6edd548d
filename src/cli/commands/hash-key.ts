import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { hashApiKey } from '../../http/auth.js';

/** `sluice hash-key [key]`: the sha256:<hex> form api.auth.apiKeys[].hash takes (a new random key when none is given). */
export function registerHashKey(program: Command): void {
  program
    .command('hash-key')
    .description(
      'print the hash of an API key for api.auth.apiKeys (makes a new random key when none is given)',
    )
    .argument('[key]', 'the key to hash; read from standard input with -')
    .action(async (key: string | undefined) => {
      let k = key;
      if (k === '-') {
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        k = Buffer.concat(chunks).toString('utf8').trim();
      }
      if (k === undefined) {
        k = randomBytes(24).toString('base64url');
        process.stdout.write(`key:  ${k}\nhash: ${hashApiKey(k)}\n`);
        return;
      }
      process.stdout.write(`${hashApiKey(k)}\n`);
    });
}
