/**
 * Request targets and form bodies: the path decoded, query strings and
 * `application/x-www-form-urlencoded` bodies into records whose repeated
 * keys are arrays, and `multipart/form-data` into fields and files.
 */

/** Parameters by name; a name given more than once has an array of its values. */
export type Params = Record<string, string | string[]>;

/** One uploaded file of a `multipart/form-data` body. */
export interface UploadedFile {
  /** The file name the client sent (may be empty). */
  filename: string;
  /** Its `Content-Type` (default `application/octet-stream`). */
  type: string;
  /** Its bytes. */
  body: Buffer;
}

/** The parts of a request target. @internal */
export interface Target {
  /** The percent-decoded path (`%2F` stays a slash in it; use `rawPath` to tell). */
  path: string;
  /** The path as sent. */
  rawPath: string;
  /** The raw query string, without `?` (empty when none). */
  query: string;
  /** The fragment, without `#` (browsers do not send one; empty when none). */
  fragment: string;
}

/** Splits a request target into path, query and fragment, and decodes the path. @internal */
export function splitTarget(target: string): Target {
  const hash = target.indexOf('#');
  const fragment = hash < 0 ? '' : target.slice(hash + 1);
  const beforeHash = hash < 0 ? target : target.slice(0, hash);
  const mark = beforeHash.indexOf('?');
  const rawPath = mark < 0 ? beforeHash : beforeHash.slice(0, mark);
  const query = mark < 0 ? '' : beforeHash.slice(mark + 1);
  return { path: decodePath(rawPath), rawPath, query, fragment };
}

/** Percent-decodes a path; a malformed escape is kept as it was sent. */
function decodePath(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw.replace(/%[0-9A-Fa-f]{2}/g, (escape) => String.fromCharCode(parseInt(escape.slice(1), 16)));
  }
}

/** Decodes one form-encoded component (`+` is a space); malformed escapes stay as sent. */
function decodeComponent(text: string): string {
  const spaced = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** Adds `value` under `name`, making an array on the second value. */
function add(params: Params, name: string, value: string): void {
  const previous = params[name];
  if (previous === undefined) params[name] = value;
  else if (Array.isArray(previous)) previous.push(value);
  else params[name] = [previous, value];
}

/** Parses `a=1&b=2&a=3` (a query string or a urlencoded body) into `{ a: ['1', '3'], b: '2' }`. */
export function parseParams(text: string): Params {
  const params: Params = Object.create(null) as Params;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decodeComponent(equals < 0 ? pair : pair.slice(0, equals));
    add(params, name, equals < 0 ? '' : decodeComponent(pair.slice(equals + 1)));
  }
  return params;
}

/** A header value's parameters (`multipart/form-data; boundary=x`): the lower-case type and the parameters by lower-case name. @internal */
export function parseHeaderParams(value: string): { type: string; params: Map<string, string> } {
  const semicolon = value.indexOf(';');
  const type = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  const params = new Map<string, string>();
  // A quoted value may itself hold ';' and escaped quotes.
  for (const [, name, raw] of value.slice(Math.max(semicolon, 0)).matchAll(/;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g)) {
    const quoted = raw.startsWith('"');
    params.set(name.toLowerCase(), quoted ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw.trim());
  }
  return { type, params };
}

/** Fields and files of a `multipart/form-data` body; `null` when it is not well formed. @internal */
export function parseMultipart(body: Buffer, boundary: string): { fields: Params; files: Record<string, UploadedFile[]> } | null {
  const fields: Params = Object.create(null) as Params;
  const files: Record<string, UploadedFile[]> = Object.create(null) as Record<string, UploadedFile[]>;
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  if (boundary === '' || at < 0) return null;
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString('latin1') === '--') return { fields, files };
    if (body.subarray(at, at + 2).toString('latin1') !== '\r\n') return null;
    const headEnd = body.indexOf('\r\n\r\n', at + 2);
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), at + 2);
    if (headEnd < 0 || next < 0 || headEnd > next) return null;
    const part = partHeaders(body.subarray(at + 2, headEnd).toString('utf8'));
    const content = body.subarray(headEnd + 4, next);
    const disposition = parseHeaderParams(part.get('content-disposition') ?? '');
    const name = disposition.params.get('name');
    if (disposition.type !== 'form-data' || name === undefined) return null;
    const filename = disposition.params.get('filename');
    if (filename === undefined) add(fields, name, content.toString('utf8'));
    else (files[name] ??= []).push({ filename, type: part.get('content-type') ?? 'application/octet-stream', body: Buffer.from(content) });
    at = next + 2;
  }
}

/** The headers of one multipart part, by lower-case name. */
function partHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}
