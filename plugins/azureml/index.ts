import { containerTrainerCapabilities, MULTI_GPU_TRAINER, definePlugin, PLUGIN_API_VERSION, RestClient, tableDevices, tableInstanceDevices, tableInstanceGpus, withPrices, type PluginDefinition } from '../../src/plugin-sdk/index.js';
import { azuremlWorkspace, AzureMlConfigSchema, type AzureMlConfig } from './config.js';
import { AZUREML_PRICES } from './prices.js';

/** What a token source gives: @azure/core-auth's TokenCredential, the part used here. */
interface TokenSource {
  getToken(scopes: string | string[]): Promise<{ token: string } | null>;
}

const SCOPES = {
  arm: 'https://management.azure.com/.default',
  storage: 'https://storage.azure.com/.default',
  history: 'https://ml.azure.com/.default',
};

/**
 * The azureml plugin with a given token source; by default @azure/identity's DefaultAzureCredential
 * (environment service principal, workload identity, managed identity, Azure CLI / azd / PowerShell
 * login), created on first use. Tests give a fake one.
 */
export function azuremlPluginWith(options: { credential?: TokenSource } = {}): PluginDefinition<AzureMlConfig> {
  return definePlugin<AzureMlConfig>({
    meta: {
      name: 'azureml',
      version: '0.1.0',
      api_version: PLUGIN_API_VERSION,
      description: 'Azure Machine Learning command jobs: LoRA/QLoRA or full SFT or DPO with the container trainer on one or more nodes of your compute cluster; the adapter is written to the workspace datastore.',
    },
    provides: ['training_backend'],
    capabilities: {
      training: containerTrainerCapabilities({ devices: tableDevices(AZUREML_PRICES), instance_types: tableInstanceDevices(AZUREML_PRICES), instance_gpus: tableInstanceGpus(AZUREML_PRICES), ...MULTI_GPU_TRAINER }),
      app: 'trainer/Dockerfile',
    },
    configSchema: AzureMlConfigSchema,
    probe(ctx) {
      const where = azuremlWorkspace(ctx.config, ctx.env);
      if ('reason' in where) return { available: false, ...where };
      // Whether a credential works is known at the first call: DefaultAzureCredential tries several sources.
      return { available: true, details: { workspace: where.workspace, resource_group: where.resource_group, compute: where.compute, api_version: ctx.config.api_version } };
    },
    async create(ctx) {
      const where = azuremlWorkspace(ctx.config, ctx.env);
      if ('reason' in where) throw new Error(where.reason);
      const { AzureMlBackend } = await import('./backend.js');
      const credential: TokenSource = options.credential ?? new (await import('@azure/identity')).DefaultAzureCredential();
      const bearer = (scope: string) => async () => {
        const token = await credential.getToken(scope);
        if (!token) throw new Error(`the credential gave no token for ${scope}`);
        return { authorization: `Bearer ${token.token}` };
      };
      const common = { maxRetries: ctx.config.max_retries, timeoutMs: ctx.config.timeout_ms };
      const azure = {
        arm: new RestClient({ ...common, baseURL: ctx.config.management_url, headers: {}, authorize: bearer(SCOPES.arm), provider: 'Azure ML' }),
        // Blob REST with an Entra ID token needs x-ms-version 2017-11-09 or later.
        storage: new RestClient({ ...common, baseURL: '', headers: { 'x-ms-version': '2023-11-03' }, authorize: bearer(SCOPES.storage), provider: 'Azure Blob Storage' }),
        history: new RestClient({ ...common, baseURL: '', headers: {}, authorize: bearer(SCOPES.history), provider: 'Azure ML run history' }),
        sas: new RestClient({ ...common, baseURL: '', headers: { 'x-ms-version': '2023-11-03' }, provider: 'Azure Blob Storage' }),
      };
      return { training_backend: new AzureMlBackend(azure, where, ctx.config, withPrices(AZUREML_PRICES, ctx.config.usd_per_hour)) };
    },
  });
}

/** Azure ML with DefaultAzureCredential. */
export const azuremlPlugin = azuremlPluginWith();
