/**
 * The runtime's JSON-schema validation: Ajv configured like the SDK's default, with one change
 * that matters for security: `pattern` and `patternProperties` run on {@link linearRegExp}
 * (linear-time, budgeted, see `linear-regexp.ts`), so no schema or value a server sends can block
 * the event loop with a catastrophic regex (issue 15, item 1). A pattern the runtime cannot check
 * safely (backreference, lookaround, too large, over the turn's budget) is not enforced and is
 * reported once as a process warning (`MCP_ACTORS_PATTERN_NOT_ENFORCED`); `format` checks stay on
 * ajv-formats (their regexes are linear; measured in `bench/redos-regexp.ts`), on values up to
 * {@link FORMAT_CHECK_MAX_CHARS} long (`MCP_ACTORS_FORMAT_NOT_ENFORCED` beyond).
 *
 * Used by every SDK Client (tool `outputSchema`, elicitation schemas) and by the tool registry
 * (arguments against `inputSchema` before sending). Compiled validators are cached per schema
 * object, so a schema is compiled once however many calls use it.
 */
import type {
  JsonSchemaType,
  JsonSchemaValidator,
  jsonSchemaValidator as JsonSchemaValidatorProvider,
} from '@modelcontextprotocol/client';
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ValidationError } from '../errors/index.js';
import { linearRegExp } from './linear-regexp.js';

const AJV_OPTIONS: Options = {
  strict: false,
  validateFormats: true,
  validateSchema: false,
  allErrors: true,
  code: { regExp: linearRegExp },
};

/**
 * Longest string a `format` is checked on. ajv-formats' expressions are linear, but linear on a
 * megabyte is 0.1-0.3 s of blocked event loop (`uri`, `regex`); at this length the worst is a few
 * ms. A longer value is not checked against its format (the value passes; JSON Schema 2020-12 makes
 * `format` an annotation unless asserted), and that is reported once per format.
 */
export const FORMAT_CHECK_MAX_CHARS = 32 * 1024;
/** `process.emitWarning` code of the one report per format left unchecked on a long value. */
export const FORMAT_WARNING_CODE = 'MCP_ACTORS_FORMAT_NOT_ENFORCED';
const formatsReported = new Set<string>();

function configured<T extends Ajv>(engine: T): T {
  // ajv-formats is CommonJS: its default export is the plugin function itself.
  (addFormatsModule as unknown as (a: Ajv) => void)(engine);
  for (const [name, format] of Object.entries(engine.formats)) {
    const check = stringFormatCheck(format);
    if (!check) continue;
    // An object definition keeps its other parts (`compare`, for formatMinimum and formatMaximum).
    const rest = format && typeof format === 'object' && !(format instanceof RegExp) ? format : {};
    engine.addFormat(name, {
      ...rest,
      type: 'string',
      async: false,
      validate: (value: string) => {
        if (value.length <= FORMAT_CHECK_MAX_CHARS) return check(value);
        if (!formatsReported.has(name)) {
          formatsReported.add(name);
          process.emitWarning(
            `schema format "${name}" is not checked on values over ${FORMAT_CHECK_MAX_CHARS} characters`,
            { code: FORMAT_WARNING_CODE },
          );
        }
        return true;
      },
    });
  }
  return engine;
}

/** The synchronous string check of an ajv format definition, if it is one. */
function stringFormatCheck(format: unknown): ((value: string) => boolean) | undefined {
  if (format instanceof RegExp) return (value) => format.test(value);
  if (typeof format === 'function') return format as (value: string) => boolean;
  if (format && typeof format === 'object') {
    const def = format as { type?: unknown; async?: unknown; validate?: unknown };
    if (def.async === true || (def.type !== undefined && def.type !== 'string')) return undefined;
    return stringFormatCheck(def.validate);
  }
  return undefined;
}

/** Draft-07 and draft-06 schemas (`$schema` says so). */
const ajv = configured(new Ajv(AJV_OPTIONS));

let ajv2020: Ajv | undefined;
let ajv2019: Ajv | undefined;

/** `$schema` without scheme and trailing `#`: `json-schema.org/draft/2020-12/schema`. */
function dialectOf(schema: JsonSchemaType): string | undefined {
  const declared = (schema as { $schema?: unknown }).$schema;
  return typeof declared === 'string' ? declared.replace(/^https?:\/\//, '').replace(/#$/, '') : undefined;
}

/** SDK v2's dispatch: no `$schema` or 2020-12, 2019-09, draft-07/06; anything else throws as v2 does. */
function engineFor(schema: JsonSchemaType): Ajv {
  const dialect = dialectOf(schema);
  if (dialect === undefined || dialect === 'json-schema.org/draft/2020-12/schema') {
    ajv2020 ??= configured(new Ajv2020(AJV_OPTIONS));
    return ajv2020;
  }
  if (dialect === 'json-schema.org/draft/2019-09/schema') {
    ajv2019 ??= configured(new Ajv2019(AJV_OPTIONS));
    return ajv2019;
  }
  if (dialect === 'json-schema.org/draft-07/schema' || dialect === 'json-schema.org/draft-06/schema')
    return ajv;
  throw new Error(
    `JSON Schema declares an unsupported dialect ("$schema": ${JSON.stringify(dialectOf(schema)?.slice(0, 200))}); supported: 2020-12, 2019-09, draft-07, draft-06`,
  );
}

/**
 * The validator for SDK v2 Clients (`ClientOptions.jsonSchemaValidator` of `@modelcontextprotocol/client`):
 * SDK v2's `jsonSchemaValidator` contract and its dialect dispatch (no `$schema` means 2020-12),
 * on Ajv engines that use the linear-time regex engine. Not the SDK's own `AjvJsonSchemaValidator`:
 * given one engine, that one would give up the dispatch, and it loads a second, bundled Ajv.
 */
export const sharedJsonSchemaValidator: JsonSchemaValidatorProvider = {
  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    const engine = engineFor(schema);
    const id = (schema as { $id?: unknown }).$id;
    const validate = (typeof id === 'string' ? engine.getSchema(id) : undefined) ?? engine.compile(schema);
    return (input) =>
      validate(input)
        ? { valid: true, data: input as T, errorMessage: undefined }
        : { valid: false, data: undefined, errorMessage: engine.errorsText(validate.errors) };
  },
};

const compiled = new WeakMap<object, ValidateFunction>();

function validatorFor(schema: object): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    // The same dialect rules as the SDK's checks, so arguments and results are judged alike.
    v = engineFor(schema as JsonSchemaType).compile(schema);
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
