import { containerTrainerCapabilities, MULTI_GPU_TRAINER, definePlugin, PLUGIN_API_VERSION, tableDevices, tableInstanceDevices, tableInstanceGpus, withPrices } from '../../src/plugin-sdk/index.js';
import { sagemakerAccess, SageMakerConfigSchema, type SageMakerConfig } from './config.js';
import { SAGEMAKER_PRICES } from './prices.js';

/**
 * LoRA/QLoRA SFT and DPO as SageMaker training jobs in your AWS account: the container trainer
 * (trainer/, pushed to ECR) runs on the instance type you pick; progress comes from its event lines
 * in CloudWatch Logs; the adapter lands in your S3 bucket.
 */
export const sagemakerPlugin = definePlugin<SageMakerConfig>({
  meta: {
    name: 'sagemaker',
    version: '0.1.0',
    api_version: PLUGIN_API_VERSION,
    description: 'AWS SageMaker training jobs: LoRA/QLoRA or full SFT or DPO with the container trainer on one or more GPU instances (instance_count); the adapter is written to your S3 bucket.',
  },
  provides: ['training_backend'],
  capabilities: {
    training: containerTrainerCapabilities({ devices: tableDevices(SAGEMAKER_PRICES), instance_types: tableInstanceDevices(SAGEMAKER_PRICES), instance_gpus: tableInstanceGpus(SAGEMAKER_PRICES), ...MULTI_GPU_TRAINER }),
    app: 'trainer/Dockerfile',
  },
  configSchema: SageMakerConfigSchema,
  probe(ctx) {
    const access = sagemakerAccess(ctx.config, ctx.env);
    if ('reason' in access) return { available: false, ...access };
    // Whether credentials work is only known at the first call: the SDK's chain may reach profiles, SSO or an instance role.
    return { available: true, details: { bucket: access.bucket, region: access.region ?? '(from the AWS profile)', image_uri: access.image_uri, credentials: access.credentials ? 'environment keys' : 'AWS SDK default chain' } };
  },
  async create(ctx) {
    const access = sagemakerAccess(ctx.config, ctx.env);
    if ('reason' in access) throw new Error(access.reason);
    const [{ SageMakerBackend }, { SageMakerClient }, { S3Client }, { CloudWatchLogsClient }] = await Promise.all([
      import('./backend.js'),
      import('@aws-sdk/client-sagemaker'),
      import('@aws-sdk/client-s3'),
      import('@aws-sdk/client-cloudwatch-logs'),
    ]);
    const common = {
      ...(access.region ? { region: access.region } : {}),
      ...(access.credentials ? { credentials: access.credentials } : {}),
      ...(ctx.config.endpoint ? { endpoint: ctx.config.endpoint } : {}),
      // The SDK retries throttling and 5xx answers itself (standard mode), with backoff.
      maxAttempts: ctx.config.max_retries + 1,
    };
    const aws = {
      sagemaker: new SageMakerClient(common),
      // Path-style addressing when an endpoint is given: a local or VPC endpoint has no per-bucket host names.
      s3: new S3Client({ ...common, forcePathStyle: ctx.config.endpoint !== undefined }),
      logs: new CloudWatchLogsClient(common),
    };
    return { training_backend: new SageMakerBackend(aws, access, ctx.config, withPrices(SAGEMAKER_PRICES, ctx.config.usd_per_hour)) };
  },
});
