import { z } from '../../src/plugin-sdk/index.js';

export const SageMakerConfigSchema = z.object({
  /** Where job inputs, checkpoints and outputs go: `s3://<bucket>/<prefix>/`, one folder per job under it. */
  s3_prefix: z.string().optional(),
  /** The execution role SageMaker assumes for the job (reads the inputs, writes checkpoints and outputs, pulls the image, writes logs). */
  role_arn: z.string().optional(),
  /** The trainer image (trainer/Dockerfile) pushed to ECR, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/finetune-mcp-trainer:0.1.0. */
  image_uri: z.string().optional(),
  /** Region; default AWS_REGION, AWS_DEFAULT_REGION, then the SDK's own lookup (the profile's region). */
  region: z.string().optional(),
  /** One endpoint for SageMaker, S3 and CloudWatch Logs (a local fake, a VPC endpoint); default the SDK's for the region. */
  endpoint: z.string().url().optional(),
  /** How the container runs the trainer; default where trainer/Dockerfile puts it. */
  trainer_command: z.array(z.string().min(1)).min(1).default(['python', '/opt/finetune-mcp/trainer/trainer.py']),
  /** Default instance type; backend_options.instance_type overrides it per job. */
  instance_type: z.string().default('ml.g5.2xlarge'),
  volume_size_gb: z.number().int().min(1).max(16_384).default(100),
  /** MaxRuntimeInSeconds: SageMaker stops a job that trains longer. */
  max_runtime_s: z.number().int().min(60).default(24 * 3600),
  /** Managed spot training (MaxWaitTimeInSeconds = max_runtime_s + spot_max_wait_extra_s); backend_options.spot overrides it. */
  spot: z.boolean().default(false),
  spot_max_wait_extra_s: z.number().int().min(0).default(24 * 3600),
  /** Environment for the container (e.g. HF_HOME); visible in DescribeTrainingJob, so no secrets here. */
  env_vars: z.record(z.string(), z.string()).default({}),
  /** Hourly prices over the built-in table (your region, your discount), per instance type. */
  usd_per_hour: z.record(z.string(), z.number().nonnegative()).default({}),
  /** Prefix of the training job names (`<prefix>-<job id>`), so the account's jobs from finetune-mcp are easy to find. */
  job_name_prefix: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9-]{0,20}$/).default('ftm'),
  max_retries: z.number().int().min(0).max(10).default(4),
  poll_interval_ms: z.number().int().positive().default(15_000),
  max_poll_interval_ms: z.number().int().positive().default(60_000),
});

export type SageMakerConfig = z.infer<typeof SageMakerConfigSchema>;

type Env = Readonly<Record<string, string | undefined>>;

export interface SageMakerAccess {
  bucket: string;
  /** The key prefix under the bucket, with a trailing slash (or empty). */
  prefix: string;
  role_arn: string;
  image_uri: string;
  region?: string;
  /** Static keys when the environment holds them; otherwise the SDK's default chain (profiles, SSO, instance and task roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

const FIX = 'Set plugins.sagemaker.s3_prefix, role_arn and image_uri in the config file (see docs/backends/sagemaker.md), then restart.';

/** What the plugin needs from the config and environment, or why it cannot work. No secret goes into a message. */
export function sagemakerAccess(config: SageMakerConfig, env: Env): SageMakerAccess | { reason: string; fix: string } {
  const missing = (['s3_prefix', 'role_arn', 'image_uri'] as const).filter((key) => !config[key]);
  if (missing.length) return { reason: `SageMaker is not set up: plugins.sagemaker.${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing.`, fix: FIX };
  const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(config.s3_prefix!);
  if (!s3) return { reason: `plugins.sagemaker.s3_prefix is '${config.s3_prefix}', not an s3://<bucket>/<prefix>/ URI.`, fix: 'Use e.g. s3://my-bucket/finetune-mcp/ (a bucket in the job region).' };
  if (!/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(config.role_arn!)) {
    return { reason: `plugins.sagemaker.role_arn is '${config.role_arn}', not an IAM role ARN.`, fix: 'Use the execution role ARN, e.g. arn:aws:iam::123456789012:role/FinetuneMcpSageMakerExecution.' };
  }
  const prefix = (s3[2] ?? '').replace(/^\/+/, '');
  const region = config.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const keys = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } : undefined;
  return {
    bucket: s3[1],
    prefix: prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix,
    role_arn: config.role_arn!,
    image_uri: config.image_uri!,
    ...(region ? { region } : {}),
    ...(keys ? { credentials: keys } : {}),
  };
}
