import { createContext, useContext, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { apiClient, type ApiClient } from '../api/client';
import type { SessionManager, SessionState } from '../session/session';

interface Board {
  session: SessionManager;
  api: ApiClient;
}

const BoardContext = createContext<Board | undefined>(undefined);

export function BoardProvider({ session, children }: { session: SessionManager; children: ReactNode }) {
  const board = useMemo(() => ({ session, api: apiClient(session) }), [session]);
  return <BoardContext.Provider value={board}>{children}</BoardContext.Provider>;
}

export function useBoard(): Board {
  const board = useContext(BoardContext);
  if (!board) throw new Error('useBoard outside BoardProvider');
  return board;
}

export function useSessionState(): SessionState {
  const { session } = useBoard();
  return useSyncExternalStore(session.subscribe, session.getState);
}
