import { pino, type Logger as PinoLogger } from 'pino';

export type AppLogger = PinoLogger;

/** Logs go to stderr as JSON lines (stdout is for command output such as `sluice tail`). */
export function createLogger(
  level: string = process.env.SLUICE_LOG_LEVEL ?? 'info',
  name = 'sluice',
): AppLogger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: false }));
}
