import type { Services } from '../services.js';

/** A fixed resource (one URI) or a template (`finetune://jobs/{job_id}`) that reads JSON from the services. */
export interface ResourceDefinition {
  name: string;
  title: string;
  description: string;
  /** A fixed URI, or a URI template with `{variables}`. */
  uri: string;
  /** For templates: lists the concrete resources (e.g. every job). */
  list?(services: Services): Promise<Array<{ uri: string; name: string }>> | Array<{ uri: string; name: string }>;
  read(services: Services, variables: Record<string, string>): Promise<unknown> | unknown;
}

export function defineResource(definition: ResourceDefinition): ResourceDefinition {
  return definition;
}
