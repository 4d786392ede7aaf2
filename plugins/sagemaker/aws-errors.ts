import { codeForStatus, FinetuneError, isFinetuneError, type ErrorCode } from '../../src/plugin-sdk/index.js';

/** An AWS SDK v3 error, the fields this plugin reads (ServiceException and the credential providers' errors). */
interface AwsError {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** AWS error names (the wire's __type or S3's <Code>) → our codes; the rest go by HTTP status. */
const CODES: Record<string, ErrorCode> = {
  ValidationException: 'CONFIG_INVALID',
  ResourceInUse: 'STATE_CONFLICT',
  ResourceLimitExceeded: 'QUOTA_EXCEEDED',
  ResourceNotFound: 'NOT_FOUND',
  ResourceNotFoundException: 'NOT_FOUND',
  NoSuchBucket: 'NOT_FOUND',
  NoSuchKey: 'NOT_FOUND',
  ThrottlingException: 'RATE_LIMITED',
  Throttling: 'RATE_LIMITED',
  SlowDown: 'RATE_LIMITED',
  LimitExceededException: 'RATE_LIMITED',
  AccessDenied: 'AUTH_INVALID',
  AccessDeniedException: 'AUTH_INVALID',
  UnrecognizedClientException: 'AUTH_INVALID',
  InvalidClientTokenId: 'AUTH_INVALID',
  InvalidAccessKeyId: 'AUTH_INVALID',
  SignatureDoesNotMatch: 'AUTH_INVALID',
  ExpiredToken: 'AUTH_INVALID',
  ExpiredTokenException: 'AUTH_INVALID',
  CredentialsProviderError: 'AUTH_INVALID',
};

const RECOVERY: Partial<Record<ErrorCode, string>> = {
  AUTH_INVALID: 'Give the server AWS credentials the way the AWS CLI reads them (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, an instance or task role) with the permissions in docs/backends/sagemaker.md.',
  QUOTA_EXCEEDED: 'Ask AWS for a higher SageMaker quota for this instance type (Service Quotas: "<type> for training job usage"), or pick another instance_type.',
  CONFIG_INVALID: 'Correct the value SageMaker names (plugins.sagemaker.* or backend_options) and start again.',
};

/** One FinetuneError for an AWS SDK failure: what was being done, AWS's own code and message, and the request id. */
export function awsError(action: string, thrown: unknown): FinetuneError {
  if (isFinetuneError(thrown)) return thrown;
  const error = (thrown ?? {}) as AwsError;
  const name = error.name ?? 'Error';
  const status = error.$metadata?.httpStatusCode;
  const message = error.message || name;
  let code: ErrorCode = CODES[name] ?? (error.$fault === 'server' ? 'UPSTREAM_ERROR' : codeForStatus(status, message, false));
  if (name === 'AbortError') code = 'CANCELLED';
  else if (/region is missing/i.test(message)) code = 'CONFIG_INVALID';
  const rid = error.$metadata?.requestId ? ` [request id ${error.$metadata.requestId}]` : '';
  const where = status === undefined ? '' : `HTTP ${status} `;
  return new FinetuneError(code, `AWS refused ${action}: ${where}${name}: ${message}${rid}`, {
    ...(RECOVERY[code] ? { recovery: RECOVERY[code] } : /region is missing/i.test(message) ? { recovery: 'Set AWS_REGION or plugins.sagemaker.region, then restart.' } : {}),
    details: { provider: 'AWS', aws_error: name, ...(status !== undefined ? { status } : {}), ...(error.$metadata?.requestId ? { request_id: error.$metadata.requestId } : {}) },
    cause: thrown,
  });
}

/** Whether `thrown` is the AWS error `name` (e.g. ResourceInUse), before translation. */
export function isAwsError(thrown: unknown, name: string): boolean {
  return typeof thrown === 'object' && thrown !== null && (thrown as AwsError).name === name;
}
