/**
 * mcp-actors/testing: what you need to test code that uses a runtime — a scriptable mock MCP
 * server, a fault-injecting proxy in front of a real one, and a virtual clock.
 *
 * @example
 * import { createMockServer, createVirtualClock } from 'mcp-actors/testing';
 * const mock = createMockServer().addTool('echo', ({ text }) => String(text));
 * const rt = createRuntime({ servers: { demo: { mock } } });
 */
export {
  createFaultProxy,
  FaultProxy,
  type FaultProxyOptions,
  type FaultProxyStats,
  type FaultSpec,
  type ScheduledFault,
} from './fault-proxy.js';
export {
  createMockServer,
  type MockCall,
  type MockFailure,
  type MockMatch,
  MockServer,
  type MockServerEndpoints,
  type MockServerOptions,
  type MockToolContext,
  type MockToolHandler,
  type MockToolOptions,
} from './mock-server.js';
export { createVirtualClock, VirtualClock } from './virtual-clock.js';
