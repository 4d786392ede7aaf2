/**
 * One scrubber for secrets in free text. Upstream services sometimes echo a request's
 * Authorization header in their error bodies; those bodies become error messages, log lines and
 * job records. Every configured secret value (the environment and the config) is replaced by
 * `[redacted]` at the choke points: FinetuneError construction, the logger's stream, the tool
 * result, and the job ledger's writes.
 *
 * Secrets are registered per process and never forgotten: a value once configured as a secret
 * stays scrubbed for the life of the process, whichever workspace or session later runs.
 */

const REDACTED = '[redacted]';

/** Environment variables that hold secrets, named for readers; any variable named like a secret counts too. */
const SECRET_ENV_VARS = [
  'OPENAI_API_KEY',
  'TOGETHER_API_KEY',
  'PHOENIX_API_KEY',
  'MODAL_TOKEN_ID',
  'MODAL_TOKEN_SECRET',
  'MODAL_PROXY_TOKEN_ID',
  'MODAL_PROXY_TOKEN_SECRET',
  'FINETUNE_MCP_JUDGE_API_KEY',
  'FINETUNE_MCP_TOKEN',
  'HF_TOKEN',
  'HUGGING_FACE_HUB_TOKEN',
  'WANDB_API_KEY',
] as const;

/** Values shorter than this are not scrubbed as text (a 3-letter "key" would garble every message); real keys are far longer. */
const MIN_SECRET_LENGTH = 8;

/** A word of a variable or config key name that makes its value a secret: OPENAI_API_KEY, token_secret, apiKey, password. */
const SECRET_WORDS = new Set(['key', 'apikey', 'token', 'secret', 'password', 'passwd', 'credential', 'credentials']);

/** Credentials that need no configuration to be recognised: `Bearer <token>`, `api_key=<value>`, `x-api-key: <value>`. */
const CREDENTIAL_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/\b(Bearer\s+)[A-Za-z0-9\-._~+/]{8,}=*/gi, `$1${REDACTED}`],
  [/\b((?:x-)?api[_-]?key|access[_-]?token)(["']?\s*[:=]\s*["']?)[A-Za-z0-9\-._~+/]{8,}=*/gi, `$1$2${REDACTED}`],
];

const registered = new Set<string>();
let pattern: RegExp | undefined;
let processEnvSeen = false;

/** True when a variable or config key of this name holds a secret (by its words: api_key, MODAL_TOKEN_ID, apiKey). */
function isSecretName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  // `api_key_env` names the variable that holds the key, not the key: its value is shown in fixes.
  if (words.at(-1) === 'env') return false;
  return words.some((w) => SECRET_WORDS.has(w));
}

/** Adds values to scrub from now on (empty and too-short values are ignored). */
function registerSecrets(values: Iterable<string | undefined | null>): void {
  let added = false;
  for (const value of values) {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || registered.has(value)) continue;
    registered.add(value);
    // The JSON-escaped form too, as the value appears inside a serialized log line or column.
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value) registered.add(escaped);
    added = true;
  }
  if (added) pattern = undefined;
}

/** The secret values of an environment: the known variables and any variable named like a secret. */
export function secretsOfEnv(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.entries(env)
    .filter(([name, value]) => value && ((SECRET_ENV_VARS as readonly string[]).includes(name) || isSecretName(name)))
    .map(([, value]) => value!);
}

/** The string values under secret-named keys anywhere in a config object (plugins.openai.api_key, http.token, judge.api_key …). */
export function secretsOfConfig(config: unknown): string[] {
  const found: string[] = [];
  const walk = (node: unknown, secret: boolean): void => {
    if (typeof node === 'string') {
      if (secret) found.push(node);
    } else if (Array.isArray(node)) {
      for (const item of node) walk(item, secret);
    } else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) walk(value, secret || isSecretName(key));
    }
  };
  walk(config, false);
  return found;
}

/** Registers the secrets of a configuration and its environment (createServices does, once per services). */
export function registerConfigSecrets(config: unknown, env: Readonly<Record<string, string | undefined>>): void {
  registerSecrets([...secretsOfConfig(config), ...secretsOfEnv(env)]);
}

function secretPattern(): RegExp | undefined {
  if (!processEnvSeen) {
    // This process's own environment, always: workers and CLI commands that build no services are covered too.
    processEnvSeen = true;
    registerSecrets(secretsOfEnv(process.env));
  }
  if (!pattern && registered.size) {
    // Longest first, so a value that contains another is replaced whole.
    const alternatives = [...registered].sort((a, b) => b.length - a.length).map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    pattern = new RegExp(alternatives.join('|'), 'g');
  }
  return pattern;
}

/** The text with every registered secret value and every recognisable credential replaced by `[redacted]`. */
export function scrubSecrets(text: string): string {
  const values = secretPattern();
  let out = values ? text.replace(values, REDACTED) : text;
  for (const [regex, replacement] of CREDENTIAL_PATTERNS) out = out.replace(regex, replacement);
  return out;
}

/** True when the text holds a registered secret value or a recognisable credential. */
export function containsSecret(text: string): boolean {
  const patterns = [secretPattern(), ...CREDENTIAL_PATTERNS.map(([regex]) => regex)];
  return patterns.some((regex) => {
    if (!regex) return false;
    regex.lastIndex = 0;
    return regex.test(text);
  });
}

/** A copy of a JSON-like value with every string scrubbed (object keys kept). */
export function scrubDeep<T>(value: T): T {
  if (typeof value === 'string') return scrubSecrets(value) as T;
  if (Array.isArray(value)) return value.map((item) => scrubDeep(item)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubDeep(v)])) as T;
  }
  return value;
}
