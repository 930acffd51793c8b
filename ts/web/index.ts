/**
 * `pants-net/web`: Pants' web layer on the HTTP server: an `Application`
 * with routes, converters and middleware, and a `FileServer`.
 * @packageDocumentation
 * @module pants-net/web
 */
export { abort, Application, redirect, Response } from './application.js';
export type { Middleware, RouteHandler, RouteOptions } from './application.js';
export { FileServer } from './file_server.js';
export type { FileServerOptions } from './file_server.js';
export type { RouteValue } from './routing.js';
export { HTTPException } from '../http/request.js';
