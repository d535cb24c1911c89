/**
 * The server notifications the runtime handles, as one function per server for the Client's
 * `fallbackNotificationHandler`. `setNotificationHandler` makes a wrapper closure per Client and
 * method (five per connection, ~0.6 KB with their contexts and map entries); this is one function
 * shared by every Client of the server. Each notification is validated with the spec's schema
 * before its handler sees it, as the SDK's wrapper does; a bad one throws, which the Client
 * reports as "Uncaught error in notification handler" (a PROTOCOL error, protocol-errors.ts).
 * Notifications with a handler of their own (`notifications/tasks`, task-pushes.ts) and the SDK's
 * own (progress, cancellation) never reach it; any other method is ignored, as without a handler.
 */
import type {
  LoggingMessageNotification,
  Notification,
  ResourceUpdatedNotification,
} from '@modelcontextprotocol/client';
import {
  LoggingMessageNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/core';

/** What the runtime does with each notification it handles. */
export interface NotificationHandlers {
  resourceUpdated(notification: ResourceUpdatedNotification): void;
  resourcesChanged(): void;
  toolsChanged(): void;
  promptsChanged(): void;
  log(notification: LoggingMessageNotification): void;
}

interface Parser<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: unknown };
}

function parsed<T>(schema: Parser<T>, notification: Notification): T {
  const result = schema.safeParse(notification);
  if (!result.success) throw new Error(`Invalid ${notification.method}: ${String(result.error)}`);
  return result.data;
}

/**
 * The `fallbackNotificationHandler` for the Clients of one server.
 *
 * @example
 * client.fallbackNotificationHandler = notificationDispatcher({ log: (n) => emit(n.params), ... });
 */
export function notificationDispatcher(
  handlers: NotificationHandlers,
): (notification: Notification) => Promise<void> {
  return async (notification) => {
    switch (notification.method) {
      case 'notifications/resources/updated':
        return handlers.resourceUpdated(parsed(ResourceUpdatedNotificationSchema, notification));
      case 'notifications/resources/list_changed':
        parsed(ResourceListChangedNotificationSchema, notification);
        return handlers.resourcesChanged();
      case 'notifications/tools/list_changed':
        parsed(ToolListChangedNotificationSchema, notification);
        return handlers.toolsChanged();
      case 'notifications/prompts/list_changed':
        parsed(PromptListChangedNotificationSchema, notification);
        return handlers.promptsChanged();
      case 'notifications/message':
        return handlers.log(parsed(LoggingMessageNotificationSchema, notification));
    }
  };
}
