import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { errorText } from '../../api/errors';
import type { Role, User } from '../../api/types';
import { ConfirmButton } from '../../app/ConfirmButton';
import { useBoard } from '../../app/context';

const ROLES: Role[] = ['user', 'member', 'admin'];

export function AdminScreen({ self }: { self: User }) {
  const { api } = useBoard();
  const client = useQueryClient();
  const users = useInfiniteQuery({
    queryKey: ['users'],
    queryFn: ({ pageParam }) => api.users(pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const refresh = () => client.invalidateQueries({ queryKey: ['users'] });
  const changeRole = useMutation({ mutationFn: ({ id, role }: { id: string; role: Role }) => api.changeRole(id, role), onSettled: refresh });
  const remove = useMutation({ mutationFn: (id: string) => api.deleteUser(id), onSettled: refresh });
  const error = users.error ?? changeRole.error ?? remove.error;
  const list = users.data?.pages.flatMap((page) => page.users) ?? [];

  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">Users</h1>
      {error && (
        <p role="alert" className="error">
          {errorText(error)}
        </p>
      )}
      <table>
        <caption className="visually-hidden">Every user, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Email</th>
            <th scope="col">Last active</th>
            <th scope="col">Registered</th>
            <th scope="col">Role</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.map((user) => (
            <tr key={user.id} data-user-id={user.id}>
              <td>
                {user.displayName} <span className="username">@{user.username}</span>
                {user.id === self.id && ' (you)'}
              </td>
              <td>{user.email}</td>
              <td>
                {user.lastActiveAt ? <time dateTime={user.lastActiveAt}>{new Date(user.lastActiveAt).toLocaleString()}</time> : 'never'}
              </td>
              <td>
                <time dateTime={user.createdAt}>{new Date(user.createdAt).toLocaleDateString()}</time>
              </td>
              <td>
                <label className="visually-hidden" htmlFor={`role-${user.id}`}>
                  Role of @{user.username}
                </label>
                <select id={`role-${user.id}`} value={user.role} onChange={(e) => changeRole.mutate({ id: user.id, role: e.target.value as Role })}>
                  {ROLES.map((role) => (
                    <option key={role} value={role}>
                      {role}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                <ConfirmButton label={`Delete @${user.username}`} confirmLabel={`Delete @${user.username} and their messages`} onConfirm={() => remove.mutate(user.id)} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {users.hasNextPage && (
        <button type="button" onClick={() => void users.fetchNextPage()} disabled={users.isFetchingNextPage}>
          More users
        </button>
      )}
    </section>
  );
}
