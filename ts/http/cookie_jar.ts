/**
 * The cookie jar of an `HTTPClient`: cookies set by responses (`Set-Cookie`,
 * RFC 6265 in its common subset: `Domain`, `Path`, `Expires`, `Max-Age`,
 * `Secure`) kept per client and sent back to the hosts and paths they match.
 */

interface StoredCookie {
  name: string;
  value: string;
  /** Lower-case host or domain. */
  domain: string;
  /** Sent to this host only (no `Domain` attribute). */
  hostOnly: boolean;
  path: string;
  secure: boolean;
  /** Epoch milliseconds, or `Infinity` for a session cookie. */
  expires: number;
}

/** The default path of a cookie set by a response to `path` (RFC 6265 5.1.4). */
function defaultPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

function domainMatches(host: string, cookie: StoredCookie): boolean {
  return host === cookie.domain || (!cookie.hostOnly && host.endsWith(`.${cookie.domain}`));
}

/** Cookies of one client. @internal */
export class CookieJar {
  readonly #cookies: StoredCookie[] = [];

  /** Keeps the cookies of `Set-Cookie` lines received from `url`; returns those set (name → value), removals left out. */
  store(url: URL, lines: string[], now = Date.now()): Record<string, string> {
    const set: Record<string, string> = {};
    const host = url.hostname.toLowerCase();
    for (const line of lines) {
      const [pair, ...attributes] = line.split(';');
      const equals = pair.indexOf('=');
      if (equals < 0) continue;
      const name = pair.slice(0, equals).trim();
      let value = pair.slice(equals + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      if (name === '') continue;
      const cookie: StoredCookie = { name, value, domain: host, hostOnly: true, path: defaultPath(url.pathname), secure: false, expires: Infinity };
      let maxAge: number | null = null;
      let rejected = false;
      for (const attribute of attributes) {
        const at = attribute.indexOf('=');
        const key = (at < 0 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
        const text = at < 0 ? '' : attribute.slice(at + 1).trim();
        if (key === 'domain' && text !== '') {
          const domain = text.replace(/^\./, '').toLowerCase();
          if (host !== domain && !host.endsWith(`.${domain}`)) rejected = true;
          cookie.domain = domain;
          cookie.hostOnly = false;
        } else if (key === 'path' && text.startsWith('/')) {
          cookie.path = text;
        } else if (key === 'secure') {
          cookie.secure = true;
        } else if (key === 'max-age' && /^-?\d+$/.test(text)) {
          maxAge = Number(text);
        } else if (key === 'expires') {
          const time = Date.parse(text);
          if (!Number.isNaN(time)) cookie.expires = time;
        }
      }
      if (rejected) continue;
      if (maxAge !== null) cookie.expires = maxAge <= 0 ? 0 : now + maxAge * 1000;
      const index = this.#cookies.findIndex((c) => c.name === name && c.domain === cookie.domain && c.path === cookie.path);
      if (index >= 0) this.#cookies.splice(index, 1);
      if (cookie.expires <= now) continue;
      this.#cookies.push(cookie);
      set[name] = value;
    }
    return set;
  }

  /** The `Cookie` header value for a request to `url` (empty when none match). */
  header(url: URL, now = Date.now()): string {
    const host = url.hostname.toLowerCase();
    const secure = url.protocol === 'https:';
    const matching = this.#cookies.filter((c) => c.expires > now && domainMatches(host, c) && pathMatches(url.pathname, c.path) && (!c.secure || secure));
    // Longer paths first (RFC 6265 5.4).
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** Every cookie kept, by name (the most specific path last wins). */
  all(now = Date.now()): Record<string, string> {
    const all: Record<string, string> = {};
    for (const cookie of this.#cookies) if (cookie.expires > now) all[cookie.name] = cookie.value;
    return all;
  }

  /** Forgets every cookie. */
  clear(): void {
    this.#cookies.length = 0;
  }
}
