import { pino, type Logger } from 'pino';
import { scrubSecrets } from './secrets.js';

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear in the first levels of an object. */
const SECRET_KEYS = ['token', 'api_key', 'apiKey', 'authorization', 'password', 'secret', 'hf_token', 'key'];
const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `headers.${k}`, `req.headers.${k}`]);

/**
 * The one logger: JSON lines on stderr (fd 2), because stdout belongs to the stdio transport.
 * Secrets are censored by key, and every line is scrubbed of configured secret values and
 * bearer tokens before it is written (src/observability/secrets.ts), whatever field holds them.
 */
export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      name: 'finetune-mcp',
      level: options.level ?? process.env.FINETUNE_MCP_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: { streamWrite: scrubSecrets },
    },
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );
}

/** A logger that drops everything: for tests and in-process CLI calls that must stay quiet. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
