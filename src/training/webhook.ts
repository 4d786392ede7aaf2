/**
 * Optional alert webhook: POSTs one JSON object per alert, in the order they happen (one at a time
 * per process), each with a 5 s time-out. A failing webhook never affects the job.
 * `pendingWebhooks()` lets a caller (a test, a worker about to exit) wait for posts in flight.
 */
let chain: Promise<void> = Promise.resolve();

export function postWebhook(url: string | undefined, payload: Record<string, unknown>, fetchImpl: typeof fetch = fetch): void {
  if (!url) return;
  const body = JSON.stringify({ source: 'finetune-mcp', time: new Date().toISOString(), ...payload });
  chain = chain.then(() =>
    fetchImpl(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(5000) })
      .then(async (response) => {
        await response.arrayBuffer().catch(() => undefined);
      })
      .catch(() => undefined),
  );
}

export async function pendingWebhooks(): Promise<void> {
  let seen: Promise<void>;
  do {
    seen = chain;
    await seen;
  } while (seen !== chain);
}
