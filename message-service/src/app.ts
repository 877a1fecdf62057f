import type { Express } from 'express';
import { createHttpApp, type HttpAppBasics } from '@board/service-kit';
import type { MessageBoard } from './domain/board';
import { messagesRouter } from './routes/messages';

export interface AppDeps extends HttpAppBasics {
  board: MessageBoard;
}

export function createApp(deps: AppDeps): Express {
  return createHttpApp({ ...deps, routes: messagesRouter(deps.board) });
}
