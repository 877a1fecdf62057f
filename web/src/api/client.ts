import { ApiError } from './errors';
import type { ChannelSummary, Message, MessagePage, Role, Session, User, UserPage } from './types';

/** What the API functions need of the session: a request with the access token. */
export interface Requester {
  request(path: string, init?: RequestInit): Promise<Response>;
}

async function call<T>(requester: Requester, method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.headers = { 'content-type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  const response = await requester.request(path, init);
  if (!response.ok) throw await ApiError.from(response);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

const query = (params: Record<string, string | undefined>): string => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : '';
};

/** Every route the client uses, one function each, in the order of docs/openapi.yaml. */
export function apiClient(requester: Requester) {
  return {
    register: (input: { email: string; username: string; password: string; displayName?: string }) =>
      call<{ user: User }>(requester, 'POST', '/api/auth/register', input),
    changePassword: (oldPassword: string, newPassword: string) =>
      call<void>(requester, 'POST', '/api/auth/password', { oldPassword, newPassword }),
    sessions: () => call<{ sessions: Session[] }>(requester, 'GET', '/api/auth/sessions'),
    revokeSession: (id: string) => call<void>(requester, 'DELETE', `/api/auth/sessions/${encodeURIComponent(id)}`),

    me: () => call<{ user: User }>(requester, 'GET', '/api/users/me'),
    changeDisplayName: (displayName: string) => call<{ user: User }>(requester, 'PATCH', '/api/users/me', { displayName }),
    deleteAccount: () => call<void>(requester, 'DELETE', '/api/users/me'),
    uploadAvatar: async (image: Blob): Promise<{ user: User }> => {
      // The body is the image itself, not JSON.
      const response = await requester.request('/api/users/me/avatar', { method: 'PUT', headers: { 'content-type': image.type }, body: image });
      if (!response.ok) throw await ApiError.from(response);
      return (await response.json()) as { user: User };
    },
    deleteAvatar: () => call<void>(requester, 'DELETE', '/api/users/me/avatar'),
    /** An avatar needs the access token, so an <img> cannot fetch it itself: the bytes come here. */
    avatar: async (url: string): Promise<Blob> => {
      const response = await requester.request(url);
      if (!response.ok) throw await ApiError.from(response);
      return response.blob();
    },
    becomeMember: (passcode: string) => call<{ user: User }>(requester, 'POST', '/api/users/me/membership', { passcode }),
    users: (after?: string) => call<UserPage>(requester, 'GET', `/api/users${query({ after, limit: '100' })}`),
    deleteUser: (id: string) => call<void>(requester, 'DELETE', `/api/users/${encodeURIComponent(id)}`),
    changeRole: (id: string, role: Role) => call<{ user: User }>(requester, 'PATCH', `/api/users/${encodeURIComponent(id)}/role`, { role }),

    messages: (channel: string, before?: string) =>
      call<MessagePage>(requester, 'GET', `/api/messages${query({ channel, before, limit: '30' })}`),
    postMessage: (channel: string, body: string) => call<{ message: Message }>(requester, 'POST', '/api/messages', { channel, body }),
    editMessage: (id: string, body: string) => call<{ message: Message }>(requester, 'PATCH', `/api/messages/${encodeURIComponent(id)}`, { body }),
    deleteMessage: (id: string) => call<void>(requester, 'DELETE', `/api/messages/${encodeURIComponent(id)}`),
    like: (id: string) => call<{ message: Message }>(requester, 'PUT', `/api/messages/${encodeURIComponent(id)}/like`),
    unlike: (id: string) => call<{ message: Message }>(requester, 'DELETE', `/api/messages/${encodeURIComponent(id)}/like`),
    channels: () => call<{ channels: ChannelSummary[] }>(requester, 'GET', '/api/channels'),

    bookmarks: (before?: string) => call<MessagePage>(requester, 'GET', `/api/bookmarks${query({ before, limit: '50' })}`),
    bookmark: (id: string) => call<void>(requester, 'PUT', `/api/bookmarks/${encodeURIComponent(id)}`),
    unbookmark: (id: string) => call<void>(requester, 'DELETE', `/api/bookmarks/${encodeURIComponent(id)}`),

    streamTicket: () => call<{ ticket: string; expiresIn: number }>(requester, 'POST', '/api/events/ticket'),
  };
}

export type ApiClient = ReturnType<typeof apiClient>;
