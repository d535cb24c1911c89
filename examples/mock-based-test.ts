/**
 * Testing your own code with `mcp-actors/testing`: a scriptable mock server (tools, canned
 * responses, scripted failures, a call log) and a virtual clock (timeouts without waiting). The
 * code under test here is a tiny `WeatherService`; the checks use node:assert so the example runs
 * anywhere (in a real project they would be vitest/jest tests).
 * Run: npx tsx examples/mock-based-test.ts
 */
import assert from 'node:assert/strict';
import { createRuntime, isMcpRuntimeError, type McpRuntime } from '../src/index.js';
import { createMockServer, createVirtualClock } from '../src/testing/index.js';

/** The application code under test: asks an MCP server for the weather, degrades on failure. */
class WeatherService {
  constructor(private readonly rt: McpRuntime) {}
  async describe(city: string): Promise<string> {
    try {
      const result = await this.rt.callTool('weather', 'forecast', { city }, { timeoutMs: 5_000 });
      const { tempC } = result.structuredContent as { tempC: number };
      return `${city}: ${tempC} °C`;
    } catch (error) {
      if (isMcpRuntimeError(error, 'TIMEOUT')) return `${city}: no forecast (timed out)`;
      if (isMcpRuntimeError(error)) return `${city}: no forecast (${error.code})`;
      throw error;
    }
  }
}

let checks = 0;
const check = (what: string, fn: () => void): void => {
  fn();
  checks++;
  console.log(`ok ${checks} - ${what}`);
};

// 1. Canned response and the call log.
{
  const mock = createMockServer().addResponse('forecast', { tempC: 21 });
  await using rt = createRuntime({ servers: { weather: { mock } } });
  const text = await new WeatherService(rt).describe('Lyon');
  check('formats the forecast', () => assert.equal(text, 'Lyon: 21 °C'));
  check('sends the city', () =>
    assert.deepEqual(mock.callsTo('forecast')[0]?.params.arguments, { city: 'Lyon' }),
  );
  await mock.close();
}

// 2. A scripted failure.
{
  const mock = createMockServer().addResponse('forecast', { tempC: 21 });
  mock.failNext(1, { code: -32602, message: 'unknown city' }, { tool: 'forecast' });
  await using rt = createRuntime({ servers: { weather: { mock } } });
  const text = await new WeatherService(rt).describe('Atlantis');
  check('degrades on a server error', () => assert.equal(text, 'Atlantis: no forecast (REMOTE)'));
  await mock.close();
}

// 3. A timeout, on a virtual clock: no real waiting.
{
  using clock = createVirtualClock().install();
  const mock = createMockServer().addResponse('forecast', { tempC: 21 }).delay(60_000, { tool: 'forecast' });
  await using rt = createRuntime({ servers: { weather: { mock } } });
  await rt.start();
  const pending = new WeatherService(rt).describe('Oslo');
  await clock.advance(5_000);
  const text = await pending;
  check('reports a timeout after 5 s of virtual time', () =>
    assert.equal(text, 'Oslo: no forecast (timed out)'),
  );
  await rt.close();
  await mock.close();
}

console.log(`mock-based test: ${checks} checks passed`);
