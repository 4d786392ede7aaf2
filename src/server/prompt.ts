import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import type { Config } from '../config.js';
import { FinetuneError } from '../errors.js';
import { packageRoot } from '../package-root.js';

type PromptArgs = Record<string, z.ZodType<string | undefined>>;

/** What a prompt may read besides its arguments: the server's config (its gates, groups). */
interface PromptContext {
  config: Config;
}

export interface PromptDefinition<A extends PromptArgs = PromptArgs> {
  name: string;
  title: string;
  description: string;
  args: A;
  /** The text of the user message the prompt puts in the conversation. */
  build(args: { [K in keyof A]: z.infer<A[K]> }, context: PromptContext): string;
}

export type AnyPromptDefinition = PromptDefinition<any>;

const PLACEHOLDER = /\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}/g;

/**
 * A prompt whose text is a Markdown file in prompts/ that a person can read and edit, with `{{name}}`
 * placeholders filled by `fill` (from the arguments and the config). The file is read once, when the
 * prompt is defined (server start-up): a missing file or a placeholder that `fill` does not provide
 * stops the start with the file and line named, not the first prompts/get.
 */
export function markdownPrompt<A extends PromptArgs, F extends string>(definition: {
  name: string;
  title: string;
  description: string;
  args: A;
  /** The file under prompts/, e.g. "runbook.md". */
  file: string;
  /** Every placeholder the file may use, and how each is filled. */
  fills: readonly F[];
  fill(args: { [K in keyof A]: z.infer<A[K]> }, context: PromptContext): Record<F, string>;
}): PromptDefinition<A> {
  const path = join(packageRoot(), 'prompts', definition.file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new FinetuneError('INTERNAL', `Prompt '${definition.name}': cannot read ${path}: ${(error as Error).message}`, { details: { file: path } });
  }
  const known = new Set<string>(definition.fills);
  text.split('\n').forEach((line, i) => {
    for (const [, name] of line.matchAll(PLACEHOLDER)) {
      if (!known.has(name)) {
        throw new FinetuneError('INTERNAL', `Prompt file ${path} line ${i + 1}: {{${name}}} is not a placeholder of '${definition.name}' (it has: ${definition.fills.join(', ')}).`, {
          details: { file: path, line: i + 1 },
        });
      }
    }
  });
  return {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    args: definition.args,
    build(args, context) {
      const values: Record<string, string> = definition.fill(args, context);
      return text.replace(PLACEHOLDER, (_, name: string) => values[name]).trim();
    },
  };
}
