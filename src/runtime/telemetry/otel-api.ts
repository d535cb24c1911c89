/**
 * `@opentelemetry/api` is an OPTIONAL peer dependency: the runtime must load and work without it.
 * So it is never imported statically; it is required once, synchronously, on first use (the API
 * ships CommonJS, and its globals live on `globalThis` under a versioned symbol, so this copy sees
 * the provider an application registered through its own ESM import).
 */
import { createRequire } from 'node:module';

/** The API module, as far as the runtime uses it (type-only import: erased at run time). */
export type OtelApi = typeof import('@opentelemetry/api');

/** Loads the API module or throws (the default requires `@opentelemetry/api`). */
export type OtelApiLoader = () => OtelApi;

const requireFromHere = createRequire(import.meta.url);

/** Requires the installed `@opentelemetry/api`. */
export const defaultOtelApiLoader: OtelApiLoader = () => requireFromHere('@opentelemetry/api') as OtelApi;

let cached: { api: OtelApi | undefined } | undefined;

/**
 * The OpenTelemetry API, or `undefined` when it cannot be loaded. The default loader runs at most
 * once per process; a custom `loader` (tests) is called each time.
 *
 * @example
 * const api = loadOtelApi();
 * if (api) api.trace.getTracer('x');
 */
export function loadOtelApi(loader?: OtelApiLoader): OtelApi | undefined {
  if (loader && loader !== defaultOtelApiLoader) return tryLoad(loader);
  cached ??= { api: tryLoad(defaultOtelApiLoader) };
  return cached.api;
}

function tryLoad(loader: OtelApiLoader): OtelApi | undefined {
  try {
    return loader();
  } catch {
    // Not installed (or broken): telemetry stays off, the runtime works as before.
    return undefined;
  }
}
