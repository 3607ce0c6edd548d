import { pino, type Logger as PinoLogger } from 'pino';
import { secrets } from '../config/secrets.js';

export type AppLogger = PinoLogger;

/**
 * Logs go to stderr as JSON lines (stdout is for command output such as `sluice tail`). Every
 * line passes through the secret registry: a password, token or key the config loaded never
 * reaches a log, whichever field or error message carries it.
 */
export function createLogger(
  level: string = process.env.SLUICE_LOG_LEVEL ?? 'info',
  name = 'sluice',
): AppLogger {
  const dest = pino.destination({ dest: 2, sync: false });
  const redacting = { write: (line: string) => dest.write(secrets.redact(line)) };
  return pino({ name, level, base: { pid: process.pid } }, redacting);
}
