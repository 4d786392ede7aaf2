import type { PriceTable } from '../../src/plugin-sdk/index.js';

/**
 * SageMaker training, on demand, us-east-1, USD per instance-hour. Approximate: gathered on
 * 2026-12-05 from public price tables that quote https://aws.amazon.com/sagemaker/pricing/ (two or
 * more agreeing for each row; ml.g6e.2xlarge as read from the AWS Price List API on 2026-07-02 by
 * its source). AWS changes prices: override them with plugins.sagemaker.usd_per_hour.
 * Single-GPU machines and the 8-GPU A100 machine (the trainer runs one process per GPU).
 */
export const SAGEMAKER_PRICES: PriceTable = {
  provider: 'AWS SageMaker training',
  region: 'us-east-1',
  as_of: '2026-12-05',
  source: 'https://aws.amazon.com/sagemaker/pricing/',
  instances: [
    { instance: 'ml.g4dn.xlarge', device: 'T4', gpus: 1, usd_per_hour: 0.736 },
    { instance: 'ml.g5.xlarge', device: 'A10G', gpus: 1, usd_per_hour: 1.408 },
    { instance: 'ml.g5.2xlarge', device: 'A10G', gpus: 1, usd_per_hour: 1.515 },
    { instance: 'ml.g5.4xlarge', device: 'A10G', gpus: 1, usd_per_hour: 2.03 },
    { instance: 'ml.g6.xlarge', device: 'L4', gpus: 1, usd_per_hour: 1.127 },
    { instance: 'ml.g6e.2xlarge', device: 'L40S', gpus: 1, usd_per_hour: 2.8 },
    { instance: 'ml.p4d.24xlarge', device: 'A100-40GB', gpus: 8, usd_per_hour: 37.688 },
  ],
};
