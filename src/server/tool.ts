import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { ToolGroup } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { Services } from '../services.js';

export interface SamplingRequest {
  messages: Array<{ role: 'user' | 'assistant'; text: string }>;
  system?: string;
  max_tokens: number;
}

/** A form for the user: one choice a field (MCP elicitation, form mode: flat, primitive fields). */
export interface ElicitationRequest {
  /** What the user is asked, shown above the fields. */
  message: string;
  /** Field name → a single choice among `options`; `labels` are what the user sees for each option. */
  fields: Record<string, { title: string; description?: string; options: string[]; labels?: string[] }>;
}

/** The user's answer: the chosen option of each field they filled, or that they declined or cancelled. */
export type ElicitationAnswer = { action: 'accept'; values: Record<string, string> } | { action: 'decline' | 'cancel' };

export interface ToolContext {
  services: Services;
  logger: Logger;
  /** Aborts when the client cancels the call; long loops check it. */
  signal: AbortSignal;
  /** Sends a progress notification when the client asked for them (a no-op otherwise). */
  progress(done: number, total?: number, message?: string): Promise<void>;
  /** Adds a picture (PNG) to the result, next to the structured content. */
  attachImage(data: Uint8Array, mimeType?: string): void;
  /** Asks the client's own model through MCP sampling; undefined when the client cannot. */
  sample?: (request: SamplingRequest) => Promise<string>;
  /** Asks the user through MCP elicitation (a form in the client); undefined when the client cannot. */
  elicit?: (request: ElicitationRequest) => Promise<ElicitationAnswer>;
  /** This session's tool groups: which ones tools/list shows, and listing more. */
  toolGroups?: ToolGroupsControl;
}

export interface ToolGroupStatus {
  /** Groups tools/list shows in this session. */
  listed: string[];
  groups: Array<{ name: string; listed: boolean; tools: string[] }>;
  /** Tools that tools/list does not show now (a call by name still runs them). */
  not_listed: string[];
}

export interface ToolGroupsControl {
  status(): ToolGroupStatus;
  /** Lists the tools of these groups too ('all': every group); the client is told the tool list changed. */
  enable(groups: readonly (ToolGroup | 'all')[]): ToolGroupStatus;
}

export interface ToolDefinition<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  /** snake_case, like the OpenAI and Hugging Face APIs users know. */
  name: string;
  title: string;
  /** For the model that reads it: when to use the tool, what it returns, what to call next. */
  description: string;
  input: I;
  output: O;
  annotations: Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint'>;
  handler(args: z.infer<z.ZodObject<I>>, ctx: ToolContext): Promise<z.infer<z.ZodObject<O>>>;
  /**
   * A `ui://` resource (MCP Apps) that hosts able to render apps show beside the result; others
   * ignore it and read the text and structured content as always.
   */
  app?: string;
  /** One line that leads the text part of the result; the compact JSON of the output follows it. */
  summarize?(output: z.infer<z.ZodObject<O>>): string;
}

/**
 * The text part of a successful result: the summary line, then the structured result as compact JSON.
 * The MCP specification asks a tool that returns structuredContent to return it serialized in a text
 * block too: clients that hand only text to the model would otherwise lose the ids, paths and metrics.
 */
export function textWithStructured(summary: string | undefined, structured: unknown): string {
  const json = JSON.stringify(structured);
  return summary ? `${summary}\n${json}` : json;
}

/** Identity helper that ties the handler's types to the schemas. */
export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(definition: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return definition;
}

export type AnyToolDefinition = ToolDefinition<any, any>;
