import type { ResourceDefinition } from '../resource.js';
import { jobResource, jobsListResource } from './jobs-resource.js';
import { serverPluginsResource } from './server-info-resource.js';
import { modelVersionResource } from './registry-resource.js';

/** Every resource the server exposes: an explicit list. */
export const RESOURCES: readonly ResourceDefinition[] = [serverPluginsResource, jobsListResource, jobResource, modelVersionResource];
