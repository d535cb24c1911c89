/**
 * The runtime's one notification function per server (the Clients' fallbackNotificationHandler):
 * each handled method reaches its handler once validated; a malformed one throws (the Client
 * reports it as a PROTOCOL error) without reaching the handler; other methods are ignored.
 */
import { describe, expect, it } from 'vitest';
import { notificationDispatcher } from '../../src/runtime/notification-dispatch.js';

function recording() {
  const seen: string[] = [];
  const dispatch = notificationDispatcher({
    resourceUpdated: (n) => seen.push(`updated ${n.params.uri}`),
    resourcesChanged: () => seen.push('resources'),
    toolsChanged: () => seen.push('tools'),
    promptsChanged: () => seen.push('prompts'),
    log: (n) => seen.push(`log ${n.params.level} ${String(n.params.data)}`),
  });
  return { seen, dispatch };
}

describe('notificationDispatcher', () => {
  it('hands each handled notification, validated, to its handler', async () => {
    const { seen, dispatch } = recording();
    await dispatch({ method: 'notifications/resources/updated', params: { uri: 'file:///a' } });
    await dispatch({ method: 'notifications/resources/list_changed' });
    await dispatch({ method: 'notifications/tools/list_changed', params: {} });
    await dispatch({ method: 'notifications/prompts/list_changed' });
    await dispatch({ method: 'notifications/message', params: { level: 'warning', data: 'disk' } });
    expect(seen).toEqual(['updated file:///a', 'resources', 'tools', 'prompts', 'log warning disk']);
  });

  it('a malformed notification throws, naming the method, and reaches no handler', async () => {
    const { seen, dispatch } = recording();
    await expect(
      dispatch({ method: 'notifications/resources/updated', params: { uri: 42 } as never }),
    ).rejects.toThrow(/notifications\/resources\/updated/);
    await expect(
      dispatch({ method: 'notifications/message', params: { level: 'loud', data: 1 } as never }),
    ).rejects.toThrow(/notifications\/message/);
    expect(seen).toEqual([]);
  });

  it('ignores methods it does not handle', async () => {
    const { seen, dispatch } = recording();
    await dispatch({ method: 'notifications/custom', params: { x: 1 } });
    expect(seen).toEqual([]);
  });
});
