import type { Command } from 'commander';
import type { SluiceConfig } from '../../config/schema.js';
import { loadConfig } from '../../config/load.js';
import { secrets } from '../../config/secrets.js';
import { errorMessage } from '../../core/errors.js';
import { natsConnectPlan } from '../../nats/connect-options.js';
import { connectNats } from '../../nats/connection.js';
import { createSourceAdapter } from '../../pipeline/adapters.js';
import { createLogger } from '../../util/logger.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description("check the config file (with --connect, each source's prerequisites too)")
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .option('--connect', 'connect to NATS and to each source and run its preflight checks')
    .action(async (opts: { config: string; connect?: boolean }) => {
      const cfg = await loadConfig(opts.config);
      // Nothing this command prints shows a secret the config loaded (a driver may echo a URL).
      const print = (text: string) => process.stdout.write(secrets.redact(text));
      print(
        `${opts.config}: ok (${cfg.sources.length} source${cfg.sources.length === 1 ? '' : 's'}${cfg.api ? ', api' : ''})\n`,
      );
      if (!opts.connect) return;
      const log = createLogger('warn');
      let failed = !(await checkNats(cfg.nats, print));
      for (const s of cfg.sources) {
        const adapter = await createSourceAdapter(s, log);
        try {
          const report = await adapter.preflight();
          print(`source ${s.name} (${s.kind}): ${report.ok ? 'ready' : 'NOT READY'}\n`);
          for (const p of report.problems) print(`  - ${p}\n`);
          for (const w of report.warnings) print(`  ! ${w}\n`);
          failed ||= !report.ok;
        } finally {
          await adapter.close();
        }
      }
      if (failed) process.exitCode = 1;
    });
}

/**
 * Connects to NATS as `sluice run` would and says how: the authentication method the config
 * chose, and whether TLS was on (it is only ever on with the server certificate verified: chain
 * to nats.tls.ca or the system CAs, and host name).
 */
async function checkNats(nats: SluiceConfig['nats'], print: (text: string) => void): Promise<boolean> {
  const plan = natsConnectPlan(nats);
  try {
    const nc = await connectNats(nats, undefined, 'sluice-validate');
    const info = nc.info;
    const encrypted = plan.tls || info?.tls_required === true || info?.tls_available === true;
    print(
      `nats: connected to ${nc.getServer()} (server ${info?.version ?? '?'}); auth: ${plan.auth}` +
        `${info?.tls_verify ? ', client certificate presented' : ''}; tls: ${encrypted ? 'on, server certificate verified' : 'off (plain text)'}\n`,
    );
    await nc.close();
    return true;
  } catch (err) {
    print(
      `nats: NOT CONNECTED (auth: ${plan.auth}; tls: ${plan.tls ? 'on' : 'off'}): ${errorMessage(err)}\n`,
    );
    return false;
  }
}
