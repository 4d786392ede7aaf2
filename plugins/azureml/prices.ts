import type { PriceTable } from '../../src/plugin-sdk/index.js';

/**
 * Azure ML compute is billed at the VM's price (no Azure ML surcharge): Linux pay-as-you-go, East US,
 * USD per VM-hour. Approximate: gathered on 2026-12-05 from public price tables that quote
 * https://azure.microsoft.com/pricing/details/virtual-machines/linux/ (each row in two or more).
 * Override with plugins.azureml.usd_per_hour. Single-GPU sizes, and the multi-GPU ones of the same GPU
 * (the trainer runs one process on each of their GPUs).
 */
export const AZUREML_PRICES: PriceTable = {
  provider: 'Azure VM (Azure ML compute)',
  region: 'East US',
  as_of: '2026-12-05',
  source: 'https://azure.microsoft.com/pricing/details/virtual-machines/linux/',
  instances: [
    { instance: 'Standard_NC4as_T4_v3', device: 'T4', gpus: 1, usd_per_hour: 0.526 },
    { instance: 'Standard_NC8as_T4_v3', device: 'T4', gpus: 1, usd_per_hour: 0.752 },
    { instance: 'Standard_NC16as_T4_v3', device: 'T4', gpus: 1, usd_per_hour: 1.204 },
    { instance: 'Standard_NC24ads_A100_v4', device: 'A100-80GB', gpus: 1, usd_per_hour: 3.673 },
    { instance: 'Standard_NC48ads_A100_v4', device: 'A100-80GB', gpus: 2, usd_per_hour: 7.346 },
    { instance: 'Standard_ND96amsr_A100_v4', device: 'A100-80GB', gpus: 8, usd_per_hour: 32.77 },
  ],
};
