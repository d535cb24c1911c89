/**
 * Resource templates: RFC 6570 expansion with the SDK's `UriTemplate` (variables checked before
 * anything is sent), and the shape of `completion/complete` references.
 */

import type { CompleteRequest } from '@modelcontextprotocol/client';
import { UriTemplate } from '@modelcontextprotocol/client';
import { ValidationError } from '../errors/index.js';

/** Template variables: a string, or a list for `{var*}` / `{/var*}` style expansions. */
export type TemplateVariables = Record<string, string | number | boolean | ReadonlyArray<string | number>>;

/** What `rt.complete` completes an argument of: a prompt, or a resource template. */
export type CompletionRef = { prompt: string } | { resourceTemplate: string };

/**
 * Expands `template` with `vars`. Throws ValidationError naming the first missing variable (path
 * `vars.NAME`) or a malformed template (path `template`).
 *
 * @example
 * expandTemplate('demo://items/{id}', { id: 7 }); // 'demo://items/7'
 */
export function expandTemplate(template: string, vars: TemplateVariables, server?: string): string {
  const opts = server ? { server } : {};
  let parsed: UriTemplate;
  try {
    parsed = new UriTemplate(template);
  } catch (error) {
    throw new ValidationError(`invalid URI template "${template}": ${(error as Error).message}`, 'template', {
      ...opts,
      cause: error,
    });
  }
  const strings: Record<string, string | string[]> = {};
  for (const name of parsed.variableNames) {
    const value = vars[name];
    if (value === undefined || value === null) {
      throw new ValidationError(`template "${template}" needs variable "${name}"`, `vars.${name}`, opts);
    }
    strings[name] = Array.isArray(value) ? value.map(String) : String(value);
  }
  const unknown = Object.keys(vars).filter((k) => !parsed.variableNames.includes(k));
  if (unknown.length > 0) {
    throw new ValidationError(
      `template "${template}" has no variable "${unknown[0]}" (it has: ${parsed.variableNames.join(', ') || 'none'})`,
      `vars.${unknown[0]}`,
      opts,
    );
  }
  return parsed.expand(strings);
}

/** The `ref` of a `completion/complete` request. */
export function completionRef(ref: CompletionRef): CompleteRequest['params']['ref'] {
  return 'prompt' in ref
    ? { type: 'ref/prompt', name: ref.prompt }
    : { type: 'ref/resource', uri: ref.resourceTemplate };
}
