/**
 * Under `serve`, policies with interval_s run on their own: every tick, each policy whose next_run_at
 * has come runs one cycle. next_run_at lives in the policy row (so the schedule survives a restart),
 * and a cycle takes the policy's lease (so two servers on one workspace never run the same policy at
 * once; the one that finds it leased skips it). At most one cycle per policy runs in this process.
 */
import { randomBytes } from 'node:crypto';
import { isFinetuneError } from '../errors.js';
import type { Services } from '../services.js';

const DEFAULT_TICK_MS = 15_000;

export function startPolicyScheduler(services: Services, options: { tick_ms?: number } = {}): { stop(): Promise<void> } {
  const owner = `serve:${process.pid}:${randomBytes(4).toString('hex')}`;
  const running = new Map<string, Promise<void>>();
  const abort = new AbortController();
  const log = services.logger.child({ area: 'improvement' });
  const tick = async () => {
    try {
      await services.startup();
      const { PolicyStore } = await import('./store.js');
      const { runImprovementCycle } = await import('./cycle.js');
      for (const policy of new PolicyStore(services.workspace).due(new Date())) {
        if (running.has(policy.id) || abort.signal.aborted) continue;
        const run = runImprovementCycle(services, policy.id, { owner, signal: abort.signal })
          .then(({ cycle }) => log.info({ policy: policy.name, cycle_id: cycle.id, decision: cycle.decision, reason: cycle.reason }, 'improvement cycle'))
          .catch((error: unknown) => {
            if (isFinetuneError(error) && error.code === 'STATE_CONFLICT') log.debug({ policy: policy.name }, 'improvement policy leased by another process; skipped');
            else log.warn({ policy: policy.name, err: error }, 'improvement cycle failed');
          })
          .finally(() => running.delete(policy.id));
        running.set(policy.id, run);
      }
    } catch (error) {
      log.warn({ err: error }, 'improvement scheduler tick failed');
    }
  };
  const timer = setInterval(() => void tick(), options.tick_ms ?? DEFAULT_TICK_MS);
  // The first tick waits one interval: the stdio server opens the workspace after its handshake, not before.
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      abort.abort();
      await Promise.allSettled(running.values());
    },
  };
}
