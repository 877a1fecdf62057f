export * from './database';
export * from './broker';
export * from './observer';
export * from './tcp-proxy';
export * from './wait';
export * from './logger';
export * from './http';
export * from './world';
