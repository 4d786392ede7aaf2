import type { PluginHost } from './host.js';
import type { InferenceProvider } from './providers.js';

/**
 * A model configured like the judge and the generator: an OpenAI-compatible endpoint of its own
 * (`base_url`, `api_key`), or, without one, a model reference `<plugin>:<model>` run by that
 * inference plugin with the plugin's own credentials.
 */
interface EndpointSettings {
  base_url?: string;
  api_key?: string;
  model: string;
  max_retries: number;
  timeout_s: number;
}

/** `<plugin>:<model>`: a plugin name (lower-case letters, digits, dashes) before the first colon. */
export const PROVIDER_REF = /^([a-z][a-z0-9-]{0,63}):(.+)$/s;

/** OpenAI's API when an api_key is set without a base_url (as the openai SDK defaulted). */
const DEFAULT_ENDPOINT_URL = 'https://api.openai.com/v1';

/** `model` as `<plugin>:<model>` on an inference plugin, when no endpoint of its own is set. */
export function pluginModelReference(plugins: PluginHost, settings: Pick<EndpointSettings, 'base_url' | 'api_key'>, model: string): { plugin: string; model: string } | null {
  if (settings.base_url || settings.api_key) return null;
  const match = PROVIDER_REF.exec(model);
  return match && plugins.status(match[1])?.provides.includes('inference') ? { plugin: match[1], model: match[2] } : null;
}

/**
 * The openai-compatible plugin pointed at the configured endpoint (base_url, else OpenAI's API), with
 * the key from the settings or from `api_key_env`; `where` names the config section in its errors.
 */
export async function endpointInference(plugins: PluginHost, settings: EndpointSettings, options: { api_key_env: string; where: string }): Promise<{ inference: InferenceProvider; url: string }> {
  const endpoint = {
    base_url: settings.base_url ?? DEFAULT_ENDPOINT_URL,
    ...(settings.api_key ? { api_key: settings.api_key } : {}),
    api_key_env: options.api_key_env,
    max_retries: settings.max_retries,
    timeout_ms: Math.round(settings.timeout_s * 1000),
  };
  const inference = await plugins.createWith('inference', 'openai-compatible', endpoint, options.where);
  return { inference, url: settings.base_url ?? 'api.openai.com' };
}
