/**
 * The WebSocket opening handshake (RFC 6455 section 4), both sides:
 * checking an upgrade request, the accept key, choosing a subprotocol,
 * negotiating permessage-deflate (RFC 7692), and the client's request and
 * its check of the answer.
 * @internal
 */
import { createHash, randomBytes } from 'node:crypto';

import type { HTTPHeaders } from './headers.js';
import { WsFlag } from './upgrade.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`. */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** A fresh `Sec-WebSocket-Key`: 16 random bytes in base64. */
export function newKey(): string {
  return randomBytes(16).toString('base64');
}

/** The comma-separated tokens of a header, trimmed, empty ones dropped. */
function tokens(value: string | null | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '');
}

/** Why an upgrade request is refused: its status, and headers to add. */
export interface Refusal {
  status: number;
  reason: string;
  headers?: Record<string, string>;
}

/** Checks a request asking to become a WebSocket: `null` when it may. */
export function checkUpgradeRequest(method: string, protocol: string, headers: HTTPHeaders): Refusal | null {
  const upgrade = headers.get('upgrade');
  if (upgrade === null || upgrade === undefined) return { status: 426, reason: 'This resource speaks WebSocket: send Upgrade: websocket.', headers: { Upgrade: 'websocket', Connection: 'Upgrade' } };
  if (!tokens(upgrade).some((token) => token.toLowerCase() === 'websocket')) return { status: 400, reason: 'The Upgrade header does not name websocket.' };
  if (method !== 'GET') return { status: 400, reason: 'A WebSocket handshake is a GET request.' };
  if (protocol !== 'HTTP/1.1') return { status: 400, reason: 'A WebSocket handshake needs HTTP/1.1.' };
  if (!tokens(headers.get('connection')).some((token) => token.toLowerCase() === 'upgrade')) return { status: 400, reason: 'The Connection header does not name upgrade.' };
  if (headers.get('sec-websocket-version')?.trim() !== '13') {
    return { status: 400, reason: 'Only WebSocket version 13 is spoken here.', headers: { 'Sec-WebSocket-Version': '13' } };
  }
  const keys = headers.getAll('sec-websocket-key');
  const key = keys.length === 1 ? keys[0].trim() : '';
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key) || Buffer.from(key, 'base64').length !== 16) return { status: 400, reason: 'Sec-WebSocket-Key is not 16 bytes in base64.' };
  return null;
}

/** The subprotocol a server picks: its first preference the client offered, else `''`. */
export function chooseProtocol(offered: string | null | undefined, preferences: readonly string[]): string {
  const offers = new Set(tokens(offered));
  return preferences.find((protocol) => offers.has(protocol)) ?? '';
}

/** One extension of a `Sec-WebSocket-Extensions` header: its name and parameters (`true` for a bare one). */
interface Extension {
  name: string;
  params: Map<string, string | true>;
}

/** Parses `Sec-WebSocket-Extensions` values; `null` when one is malformed. */
function parseExtensions(values: readonly string[]): Extension[] | null {
  const extensions: Extension[] = [];
  for (const offer of values.flatMap((value) => value.split(','))) {
    const [name, ...rest] = offer.split(';').map((part) => part.trim());
    if (name === '') continue;
    const params = new Map<string, string | true>();
    for (const param of rest) {
      const at = param.indexOf('=');
      const key = (at < 0 ? param : param.slice(0, at)).trim().toLowerCase();
      if (key === '' || params.has(key)) return null;
      params.set(key, at < 0 ? true : param.slice(at + 1).trim().replace(/^"(.*)"$/, '$1'));
    }
    extensions.push({ name: name.toLowerCase(), params });
  }
  return extensions;
}

const DEFLATE = 'permessage-deflate';

/** A window size parameter: `true` (no value) where allowed, or 8 to 15. */
function windowBits(value: string | true | undefined, bareAllowed: boolean): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === true) return bareAllowed ? 15 : null;
  return /^(8|9|1[0-5])$/.test(value) ? Number(value) : null;
}

/** What was agreed: the header to answer with, and the framing flags. */
export interface DeflateAgreement {
  header: string;
  flags: number;
}

/** Framing flags for our compressor's window (`websocket_settings` in the binding: bits 4 to 7). */
function windowFlags(bits: number): number {
  return bits === 15 ? 0 : bits << 4;
}

/**
 * The server's answer to the client's permessage-deflate offers: the first
 * it can honour (a compressor window of 8 bits cannot be honoured: raw
 * deflate starts at 9), or `null`.
 */
export function acceptDeflate(values: readonly string[]): DeflateAgreement | null {
  for (const offer of parseExtensions(values) ?? []) {
    if (offer.name !== DEFLATE) continue;
    const { params } = offer;
    const known = [...params.keys()].every((key) => ['server_no_context_takeover', 'client_no_context_takeover', 'server_max_window_bits', 'client_max_window_bits'].includes(key));
    const serverBits = windowBits(params.get('server_max_window_bits'), false);
    const clientBits = windowBits(params.get('client_max_window_bits'), true);
    if (!known || serverBits === null || clientBits === null || serverBits === 8) continue;
    if (params.get('server_no_context_takeover') !== undefined && params.get('server_no_context_takeover') !== true) continue;
    if (params.get('client_no_context_takeover') !== undefined && params.get('client_no_context_takeover') !== true) continue;
    let header = DEFLATE;
    let flags = WsFlag.Deflate;
    if (params.has('server_no_context_takeover')) {
      header += '; server_no_context_takeover';
      flags |= WsFlag.DeflateNoContext;
    }
    if (params.has('client_no_context_takeover')) {
      header += '; client_no_context_takeover';
      flags |= WsFlag.InflateNoContext;
    }
    if (serverBits !== undefined) {
      header += `; server_max_window_bits=${serverBits}`;
      flags |= windowFlags(serverBits);
    }
    return { header, flags };
  }
  return null;
}

/** The offer a client makes. */
export const DEFLATE_OFFER = `${DEFLATE}; client_max_window_bits`;

/** A client's check of the server's `Sec-WebSocket-Extensions`: the framing flags, or why it is refused. */
export function checkDeflateAnswer(values: readonly string[], offered: boolean): number | string {
  const extensions = parseExtensions(values);
  if (extensions === null) return 'a malformed Sec-WebSocket-Extensions header';
  if (extensions.length === 0) return 0;
  const [answer] = extensions;
  if (!offered || extensions.length > 1 || answer.name !== DEFLATE) return `an extension that was not offered: ${values.join(', ')}`;
  let flags = WsFlag.Deflate;
  for (const [key, value] of answer.params) {
    if (key === 'server_no_context_takeover' && value === true) flags |= WsFlag.InflateNoContext;
    else if (key === 'client_no_context_takeover' && value === true) flags |= WsFlag.DeflateNoContext;
    else if (key === 'server_max_window_bits' && typeof windowBits(value, false) === 'number') continue;
    else if (key === 'client_max_window_bits' && (windowBits(value, false) ?? 8) >= 9) flags |= windowFlags(Number(value));
    else return `a permessage-deflate parameter this client cannot honour: ${key}`;
  }
  return flags;
}

/** The head of a server's answer, as a client reads it. */
export interface AnswerHead {
  status: number;
  headers: Map<string, string[]>;
}

/** Parses the head of an HTTP response (the bytes before the blank line); `null` when malformed. */
export function parseAnswerHead(head: string): AnswerHead | null {
  const lines = head.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]);
  if (match === null) return null;
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const at = line.indexOf(':');
    if (at <= 0) return null;
    const name = line.slice(0, at).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(at + 1).trim()]);
  }
  return { status: Number(match[1]), headers };
}

/** What a client learned from an accepted handshake. */
export interface Agreement {
  protocol: string;
  extensions: string;
  flags: number;
}

/** A client's check of the answer to its handshake: what was agreed, or why it is refused. */
export function checkAnswer(answer: AnswerHead, key: string, protocols: readonly string[], compression: boolean): Agreement | string {
  if (answer.status !== 101) return `Unexpected server response: ${answer.status}`;
  const one = (name: string): string => (answer.headers.get(name) ?? []).join(', ');
  if (!tokens(one('upgrade')).some((token) => token.toLowerCase() === 'websocket')) return 'the answer lacks Upgrade: websocket';
  if (!tokens(one('connection')).some((token) => token.toLowerCase() === 'upgrade')) return 'the answer lacks Connection: upgrade';
  if (one('sec-websocket-accept') !== acceptKey(key)) return 'Invalid Sec-WebSocket-Accept header';
  const protocol = one('sec-websocket-protocol');
  if (protocol !== '' && !protocols.includes(protocol)) return `the server chose a subprotocol that was not offered: ${protocol}`;
  const extensions = answer.headers.get('sec-websocket-extensions') ?? [];
  const flags = checkDeflateAnswer(extensions, compression);
  if (typeof flags === 'string') return flags;
  return { protocol, extensions: extensions.join(', '), flags };
}
