/**
 * `pants-net/http`: an HTTP/1.1 server and client on the Pants engine.
 * Request and response heads and bodies are framed and parsed in Rust;
 * handlers get `HTTPRequest`s and answer through them, and `HTTPClient`
 * requests resolve with `HTTPResponse`s.
 * @packageDocumentation
 * @module pants-net/http
 */
export { HTTPClient } from './client.js';
export type { HeadersInit, HTTPClientOptions, RequestOptions } from './client.js';
export type { FileField, FileUpload, FormFields } from './request_body.js';
export { HTTPResponse } from './response.js';
export { HTTPHeaders } from './headers.js';
export { HTTPException, HTTPRequest } from './request.js';
export type { SendFileOptions } from './request.js';
export type { CookieAttributes } from './cookies.js';
export type { Params, UploadedFile } from './forms.js';
export { HTTPConnection, HTTPServer } from './server.js';
export type { HTTPHandler, HTTPServerOptions } from './server.js';
export { EntireMessage, WebSocket } from './websocket.js';
export type { MessageDelimiter, WebSocketClass, WebSocketOptions } from './websocket.js';
