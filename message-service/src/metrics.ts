import { Counter, type Registry } from '@board/service-kit';

/** message-service's own series, on the service's registry. */
export function createMessageMetrics(registry: Registry) {
  return {
    messagesPosted: new Counter({
      name: 'messages_posted_total',
      help: 'Messages posted (POST /api/messages that committed)',
      registers: [registry],
    }),
  };
}
