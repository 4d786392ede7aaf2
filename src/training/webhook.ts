/**
 * Optional alert webhook: POSTs one JSON object per alert. Fire-and-forget with a short time-out;
 * a failing webhook never affects the job. `pendingWebhooks()` lets a caller (a test, a worker
 * about to exit) wait for posts in flight.
 */
const inFlight = new Set<Promise<void>>();

export function postWebhook(url: string | undefined, payload: Record<string, unknown>, fetchImpl: typeof fetch = fetch): void {
  if (!url) return;
  const body = JSON.stringify({ source: 'finetune-mcp', time: new Date().toISOString(), ...payload });
  const post = fetchImpl(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(5000) })
    .then(async (response) => {
      await response.arrayBuffer().catch(() => undefined);
    })
    .catch(() => undefined)
    .finally(() => inFlight.delete(post));
  inFlight.add(post);
}

export async function pendingWebhooks(): Promise<void> {
  await Promise.all([...inFlight]);
}
