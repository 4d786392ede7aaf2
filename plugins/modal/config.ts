import { z } from 'zod';

export const ModalConfigSchema = z.object({
  /** The deployed app's URL (printed by `modal deploy`), e.g. https://acme--finetune-mcp-trainer-api.modal.run. */
  endpoint_url: z.string().url().optional().describe('Default MODAL_ENDPOINT_URL.'),
  /** Proxy Auth Token id and secret (wk-… / ws-…); default MODAL_PROXY_TOKEN_ID / _SECRET, then MODAL_TOKEN_ID / _SECRET. */
  token_id: z.string().min(1).optional(),
  token_secret: z.string().min(1).optional(),
  /** The GPU the app was deployed with (FINETUNE_MCP_GPU at deploy time); plans that pin another are warned. */
  gpu: z.string().default('A100-80GB'),
  max_retries: z.number().int().min(0).max(10).default(4),
  timeout_ms: z.number().int().positive().default(120_000),
  poll_interval_ms: z.number().int().positive().default(10_000),
  max_poll_interval_ms: z.number().int().positive().default(60_000),
});

export type ModalConfig = z.infer<typeof ModalConfigSchema>;

interface ModalAccess {
  endpoint: string;
  tokenId: string;
  tokenSecret: string;
}

/** The endpoint and proxy-auth credentials, or why the plugin cannot work. */
export function modalAccess(config: ModalConfig, env: Readonly<Record<string, string | undefined>>): ModalAccess | { reason: string; fix: string } {
  const endpoint = config.endpoint_url ?? env.MODAL_ENDPOINT_URL;
  if (!endpoint) {
    return {
      reason: 'No Modal endpoint: neither plugins.modal.endpoint_url nor MODAL_ENDPOINT_URL is set.',
      fix: 'Deploy the trainer with `modal deploy plugins/modal/app/modal_app.py` and set MODAL_ENDPOINT_URL to the URL it prints (see plugins/modal/README.md).',
    };
  }
  const tokenId = config.token_id ?? env.MODAL_PROXY_TOKEN_ID ?? env.MODAL_TOKEN_ID;
  const tokenSecret = config.token_secret ?? env.MODAL_PROXY_TOKEN_SECRET ?? env.MODAL_TOKEN_SECRET;
  if (!tokenId || !tokenSecret) {
    return {
      reason: 'No Modal proxy-auth credentials: set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET (or MODAL_PROXY_TOKEN_ID / _SECRET).',
      fix: 'Create a Proxy Auth Token in Modal (Settings → Proxy Auth Tokens) and put its id and secret in MODAL_TOKEN_ID / MODAL_TOKEN_SECRET, then restart.',
    };
  }
  return { endpoint, tokenId, tokenSecret };
}
