import type { z } from 'zod';

export interface PromptDefinition<A extends Record<string, z.ZodType<string | undefined>> = Record<string, z.ZodType<string | undefined>>> {
  name: string;
  title: string;
  description: string;
  args: A;
  /** The text of the user message the prompt puts in the conversation. */
  build(args: { [K in keyof A]: z.infer<A[K]> }): string;
}

export function definePrompt<A extends Record<string, z.ZodType<string | undefined>>>(definition: PromptDefinition<A>): PromptDefinition<A> {
  return definition;
}

export type AnyPromptDefinition = PromptDefinition<any>;
