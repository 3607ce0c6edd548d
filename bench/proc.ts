// What Linux's /proc says of a live process, for figures the machine's other load moves less than
// wall-clock rates. undefined where /proc is missing (not Linux) or the process is gone.
import { readFileSync } from 'node:fs';

/** Peak resident set size (VmHWM) of process `pid` (this one by default), in bytes. */
export function peakRssBytes(pid: number | 'self' = 'self'): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system, every thread) process `pid` has used, in seconds. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return undefined;
  }
}
