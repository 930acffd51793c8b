/**
 * `FileServer`: the files under a root directory, and nothing outside it.
 */
import { promises as fs, lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, resolve, sep } from 'node:path';

import type { HTTPRequest } from '../http/request.js';
import type { Application } from './application.js';

/** Options of `new FileServer()`. */
export interface FileServerOptions {
  /** Files served for a directory, first found wins (default `['index.html', 'index.htm']`). */
  index?: string[];
  /** An HTML listing of a directory without an index file (default `true`; `false`: `403`). */
  listing?: boolean;
  /** Path segments refused with `403` (default `[/^\./]`: dot files). */
  blacklist?: RegExp[];
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A handler serving the files under `root`: `new HTTPServer(files)`, or `files.attach(app, '/static/')`. */
export class FileServer {
  /** The directory served. */
  readonly root: string;
  readonly #index: string[];
  readonly #listing: boolean;
  readonly #blacklist: RegExp[];
  /** The root with its symlinks resolved, found on first use. */
  #realRoot: string | null = null;

  /** Serves `root`; see `FileServerOptions`. */
  constructor(root: string, options: FileServerOptions = {}) {
    this.root = resolve(root);
    this.#index = options.index ?? ['index.html', 'index.htm'];
    this.#listing = options.listing ?? true;
    this.#blacklist = options.blacklist ?? [/^\./];
  }

  /** Serves the files at `prefix` (e.g. `'/static/'`) of `app`. */
  attach(app: Application, prefix: string): this {
    const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
    const serve = (request: HTTPRequest, rest = ''): Promise<void> => this.serve(request, rest, base);
    app.route(base, (request) => serve(request), { name: `files:${base}` });
    app.route(`${base}<path:rest>`, (request, rest: string) => serve(request, rest));
    return this;
  }

  /** Answers a request for its whole path: what `HTTPServer` calls, so a `FileServer` is a handler. */
  handle(request: HTTPRequest): Promise<void> {
    return this.serve(request, request.path.slice(1), '/');
  }

  /**
   * The real path of `segments` under the root, and its stat. Below the
   * (resolved) root, one `lstat` per segment while none is a symlink, the
   * common case; at the first symlink, `realpath(3)` of the whole path.
   */
  #resolve(segments: string[]): { real: string; stat: Stats } {
    const realRoot = (this.#realRoot ??= realpathSync.native(this.root));
    if (segments.length === 0) return { real: realRoot, stat: statSync(realRoot) };
    let real = realRoot;
    let stat: Stats | null = null;
    for (const segment of segments) {
      real = real.endsWith(sep) ? `${real}${segment}` : `${real}${sep}${segment}`;
      stat = lstatSync(real);
      if (stat.isSymbolicLink()) {
        real = realpathSync.native(join(this.root, ...segments));
        return { real, stat: statSync(real) };
      }
    }
    return { real, stat: stat as Stats };
  }

  /** Answers with the file at `relative` under the root; `base` is the URL path the root is served at. */
  async serve(request: HTTPRequest, relative: string, base = '/'): Promise<void> {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      request.sendStatus(405);
      request.sendHeaders({ Allow: 'GET, HEAD', 'Content-Length': '0' });
      return request.finish();
    }
    // The path was percent-decoded once: a `..` sent as `%2e%2e` is a `..` here.
    const segments = relative.split('/').filter((segment) => segment !== '');
    if (segments.some((segment) => segment === '..' || segment === '.' || segment.includes('\\') || segment.includes('\0'))) {
      return request.sendResponse('Forbidden', 403);
    }
    if (segments.some((segment) => this.#blacklist.some((pattern) => pattern.test(segment)))) return request.sendResponse('Forbidden', 403);
    // Synchronous, as nginx does: on a local disk these cost less than thread-pool round trips.
    let real: string;
    let stat: Stats;
    try {
      ({ real, stat } = this.#resolve(segments));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return request.sendResponse(code === 'ENOENT' || code === 'ENOTDIR' ? 'Not Found' : 'Forbidden', code === 'ENOENT' || code === 'ENOTDIR' ? 404 : 403);
    }
    const rootReal = this.#realRoot;
    if (real !== rootReal && !real.startsWith(rootReal + sep)) return request.sendResponse('Forbidden', 403);
    if (!stat.isDirectory()) return request.sendStatedFile(real, stat);
    if (!request.path.endsWith('/')) {
      const query = request.query === '' ? '' : `?${request.query}`;
      request.sendStatus(301);
      const location = `${request.url.split('?')[0]}/${query}`;
      request.sendHeaders({ Location: location, 'Content-Length': '0' });
      return request.finish();
    }
    for (const name of this.#index) {
      const candidate = join(real, name);
      try {
        const candidateStat = statSync(candidate);
        if (candidateStat.isFile()) return request.sendStatedFile(candidate, candidateStat);
      } catch {
        // Not this one.
      }
    }
    if (!this.#listing) return request.sendResponse('Forbidden', 403);
    const entries = (await fs.readdir(real, { withFileTypes: true }))
      .filter((entry) => !this.#blacklist.some((pattern) => pattern.test(entry.name)))
      .sort((a, b) => a.name.localeCompare(b.name));
    const title = escapeHtml(`${base}${segments.map((segment) => `${segment}/`).join('')}`);
    const items = entries.map((entry) => {
      const name = entry.isDirectory() ? `${entry.name}/` : entry.name;
      return `<li><a href="${escapeHtml(encodeURIComponent(entry.name))}${entry.isDirectory() ? '/' : ''}">${escapeHtml(name)}</a></li>`;
    });
    const parent = segments.length > 0 ? '<li><a href="../">../</a></li>' : '';
    request.sendResponse(
      `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Index of ${title}</title></head>\n<body><h1>Index of ${title}</h1>\n<ul>${parent}${items.join('\n')}</ul></body></html>\n`,
      200,
      'text/html; charset=utf-8',
    );
  }
}
