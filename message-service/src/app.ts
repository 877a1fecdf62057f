import { Router, type Express } from 'express';
import { createHttpApp, type HttpAppBasics } from '@board/service-kit';
import type { MessageBoard } from './domain/board';
import type { Bookmarks } from './domain/bookmarks';
import { bookmarksRouter } from './routes/bookmarks';
import { channelsRouter } from './routes/channels';
import { messagesRouter } from './routes/messages';

export interface AppDeps extends HttpAppBasics {
  board: MessageBoard;
  bookmarks: Bookmarks;
}

export function createApp(deps: AppDeps): Express {
  const routes = Router().use(messagesRouter(deps.board), channelsRouter(deps.board), bookmarksRouter(deps.bookmarks));
  return createHttpApp({ ...deps, routes });
}
