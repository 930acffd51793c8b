/**
 * Cookies: the `Cookie` request header read into a record, `Set-Cookie`
 * lines written with their attributes, and signed cookies (HMAC-SHA256 of
 * name, value and expiry with the server's secret) that read as `null` when
 * tampered with or expired.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Attributes of a `Set-Cookie` line. */
export interface CookieAttributes {
  /** `Expires`: a date, or seconds since the epoch. */
  expires?: Date | number;
  /** `Max-Age` in seconds. */
  maxAge?: number;
  /** `Domain`. */
  domain?: string;
  /** `Path` (default `/`). */
  path?: string;
  /** `Secure`. */
  secure?: boolean;
  /** `HttpOnly`. */
  httpOnly?: boolean;
  /** `SameSite`. */
  sameSite?: 'Strict' | 'Lax' | 'None';
}

/** Reads a `Cookie` header (`a=1; b="2"`); the first of repeated names wins, as browsers send the most specific first. @internal */
export function parseCookies(header: string | null): Record<string, string> {
  const cookies: Record<string, string> = Object.create(null) as Record<string, string>;
  if (header === null) return cookies;
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals < 0) continue;
    const name = pair.slice(0, equals).trim();
    let value = pair.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name !== '' && !(name in cookies)) cookies[name] = decodeValue(value);
  }
  return cookies;
}

function decodeValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Cookie names are tokens (RFC 6265). */
const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Attribute values may not end the attribute or the line. */
const ATTRIBUTE_VALUE = /^[^;\r\n\0]*$/;

/** A `Set-Cookie` value; the cookie's value is percent-encoded where it must be. @internal */
export function serializeCookie(name: string, value: string, attributes: CookieAttributes = {}): string {
  if (!NAME.test(name)) throw new TypeError(`cookie name ${JSON.stringify(name)} is not a token`);
  const parts = [`${name}=${encodeURIComponent(value)}`];
  const { expires, maxAge, domain, path = '/', secure, httpOnly, sameSite } = attributes;
  if (expires !== undefined) parts.push(`Expires=${(typeof expires === 'number' ? new Date(expires * 1000) : expires).toUTCString()}`);
  if (maxAge !== undefined) {
    if (!Number.isFinite(maxAge)) throw new TypeError('cookie maxAge must be a finite number of seconds');
    parts.push(`Max-Age=${Math.floor(maxAge)}`);
  }
  for (const [attribute, text] of [
    ['Domain', domain],
    ['Path', path],
  ] as const) {
    if (text === undefined) continue;
    if (!ATTRIBUTE_VALUE.test(text)) throw new TypeError(`cookie ${attribute} ${JSON.stringify(text)} holds ';' or a line break`);
    parts.push(`${attribute}=${text}`);
  }
  if (secure === true) parts.push('Secure');
  if (httpOnly === true) parts.push('HttpOnly');
  if (sameSite !== undefined) parts.push(`SameSite=${sameSite}`);
  return parts.join('; ');
}

/** How long a signed cookie is honoured when its attributes give no expiry: 31 days, as Pants and Tornado. */
const DEFAULT_SIGNED_LIFETIME = 31 * 24 * 3600;

/** When a signed cookie stops being honoured, in epoch seconds. */
function expiryOf(attributes: CookieAttributes, now: number): number {
  if (attributes.maxAge !== undefined) return now + attributes.maxAge;
  if (attributes.expires instanceof Date) return Math.floor(attributes.expires.getTime() / 1000);
  if (attributes.expires !== undefined) return attributes.expires;
  return now + DEFAULT_SIGNED_LIFETIME;
}

function signature(secret: string | Buffer, name: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`${name}|${payload}`).digest();
}

/** The value of a signed cookie: `base64url(value).expiry.base64url(hmac)`. @internal */
export function signCookie(secret: string | Buffer, name: string, value: string, attributes: CookieAttributes, now: number): string {
  const payload = `${Buffer.from(value).toString('base64url')}.${Math.floor(expiryOf(attributes, now))}`;
  return `${payload}.${signature(secret, name, payload).toString('base64url')}`;
}

/** The value a signed cookie holds, or `null` when it is missing, tampered with or expired. @internal */
export function verifyCookie(secret: string | Buffer, name: string, signed: string | undefined, now: number): string | null {
  if (signed === undefined) return null;
  const last = signed.lastIndexOf('.');
  if (last < 0) return null;
  const payload = signed.slice(0, last);
  const given = Buffer.from(signed.slice(last + 1), 'base64url');
  const expected = signature(secret, name, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const [encoded, expiry] = payload.split('.');
  if (!(Number(expiry) > now)) return null;
  return Buffer.from(encoded, 'base64url').toString('utf8');
}
