/**
 * The runtime's ONE JSON-schema validator: a single Ajv instance (configured like the SDK's default)
 * shared by every SDK Client (tool `outputSchema` checks) and by the tool registry (arguments
 * against `inputSchema` before sending). Compiled validators are cached per schema object, so a
 * schema is compiled once however many calls use it.
 */
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ValidationError } from '../errors/index.js';

const ajv = new Ajv({ strict: false, validateFormats: true, validateSchema: false, allErrors: true });
// ajv-formats is CommonJS: its default export is the plugin function itself.
(addFormatsModule as unknown as (a: Ajv) => void)(ajv);

/** The validator every Client of the runtime is given (`ClientOptions.jsonSchemaValidator`). */
export const sharedJsonSchemaValidator = new AjvJsonSchemaValidator(ajv);

const compiled = new WeakMap<object, ValidateFunction>();

function validatorFor(schema: object): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

/** Dotted path of the field an Ajv error is about (`args.text`, `args.items.0.id`). */
function fieldPath(root: string, error: ErrorObject): string {
  const parts = error.instancePath.split('/').filter(Boolean);
  const missing = (error.params as { missingProperty?: string }).missingProperty;
  const extra = (error.params as { additionalProperty?: string }).additionalProperty;
  if (missing) parts.push(missing);
  else if (extra) parts.push(extra);
  return [root, ...parts.map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))].join('.');
}

/**
 * Validates `value` against a JSON schema; throws {@link ValidationError} whose `path` names the
 * first offending field (`root.field.sub`) and whose message lists every problem.
 *
 * @example
 * validateAgainstSchema(tool.inputSchema, { text: 1 }, 'arguments', 'echo on demo');
 * // ValidationError: echo on demo: arguments.text must be string
 */
export function validateAgainstSchema(
  schema: object,
  value: unknown,
  root: string,
  what: string,
  server?: string,
): void {
  let validate: ValidateFunction;
  try {
    validate = validatorFor(schema);
  } catch (error) {
    // An uncompilable schema is the server's problem, not the caller's: do not block the call.
    void error;
    return;
  }
  if (validate(value)) return;
  const errors = validate.errors ?? [];
  const first = errors[0];
  const path = first ? fieldPath(root, first) : root;
  const details = errors
    .map(
      (e) =>
        `${fieldPath(root, e)} ${e.keyword === 'required' ? 'is required' : (e.message ?? 'is invalid')}`,
    )
    .join('; ');
  throw new ValidationError(`${what}: ${details || `${root} is invalid`}`, path, server ? { server } : {});
}
