import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Which process a pid names, so that a job's worker is told from a later process that got its pid
 * once it died (pids are reused). The identity is the process's start time:
 * - Linux: field 22 of /proc/<pid>/stat (`starttime`, clock ticks since boot), prefixed with the
 *   boot id so a reboot never matches;
 * - elsewhere with `ps` (macOS, the BSDs): `ps -o lstart= -p <pid>`, the start to the second;
 * - nowhere (Windows, or neither works): null, and callers fall back to "the pid is alive".
 * A job records it beside `worker_pid` (jobs.worker_start); liveness and signals check both.
 */
export function processStart(pid: number | null | undefined, options: { proc?: boolean } = {}): string | null {
  if (!pid || pid <= 0 || !Number.isInteger(pid)) return null;
  if (options.proc ?? process.platform === 'linux') return procStart(pid);
  if (process.platform === 'win32') return null;
  try {
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      env: { ...process.env, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 2000,
    }).trim();
    return out ? `ps:${out.replace(/\s+/g, ' ')}` : null;
  } catch {
    return null; // no such process, or no ps
  }
}

let bootId: string | undefined;

function procStart(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const starttime = fields[22 - 3];
  if (!starttime || !/^\d+$/.test(starttime)) return null;
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = '';
    }
  }
  return `linux:${bootId}:${starttime}`;
}

/**
 * True when `pid` still names the process recorded with `start`. A record without a start (written
 * where none could be read, or before starts were recorded) trusts the pid; a start that can no
 * longer be read means the process is gone.
 */
function sameProcess(pid: number, start: string | null | undefined): boolean {
  if (!start) return true;
  return processStart(pid, { proc: start.startsWith('linux:') }) === start;
}

/** Whether a process id names a live process (EPERM means alive but not ours). */
export function processAlive(pid: number | null | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the process recorded as `pid` (and `start`, when one was read) still runs, not a later one that got its pid. */
export function processRunning(pid: number | null | undefined, start: string | null | undefined): boolean {
  return processAlive(pid) && sameProcess(pid!, start);
}
