/**
 * The body of an `HTTPClient` request from its options: a string, bytes, a
 * value sent as JSON, a form (`application/x-www-form-urlencoded`), or
 * files with fields (`multipart/form-data`).
 */
import { randomBytes } from 'node:crypto';

import { codedError } from '../errors.js';

/** Form fields by name; an array repeats the field. */
export type FormFields = Record<string, string | number | boolean | readonly (string | number | boolean)[]>;

/** A file to upload with its name and type. */
export interface FileUpload {
  /** The file name sent (default: the field's name). */
  filename?: string;
  /** Its `Content-Type` (default `application/octet-stream`). */
  type?: string;
  /** Its contents. */
  body: string | Uint8Array;
}

/**
 * A file to upload: bytes or text (named after its field), a `FileUpload`,
 * or, as Python's requests takes them, `[filename, body, type?]`.
 */
export type FileField = string | Uint8Array | FileUpload | readonly [filename: string, body: string | Uint8Array, type?: string];

/** True for a `[filename, body, type?]` tuple (not a list of files). */
function isTuple(value: unknown): value is readonly [string, string | Uint8Array, string?] {
  return Array.isArray(value) && (value.length === 2 || value.length === 3) && typeof value[0] === 'string' && value[1] instanceof Uint8Array && (value[2] === undefined || typeof value[2] === 'string');
}

/** What the body options of a request give. @internal */
export interface BodyOptions {
  body?: string | Uint8Array | unknown;
  form?: FormFields;
  files?: Record<string, FileField | FileField[]>;
}

/** An encoded body and the `Content-Type` it needs (`null`: none implied). @internal */
export interface EncodedBody {
  bytes: Buffer | null;
  contentType: string | null;
}

/** `a=1&b=2&b=3` of `fields`. @internal */
export function encodeParams(fields: FormFields): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const one of Array.isArray(value) ? value : [value]) search.append(name, String(one));
  }
  return search.toString();
}

function quoted(text: string): string {
  return text.replace(/["\\\r\n]/g, (c) => (c === '"' ? '%22' : c === '\\' ? '\\\\' : c === '\r' ? '%0D' : '%0A'));
}

function multipart(form: FormFields, files: Record<string, FileField | FileField[]>): EncodedBody {
  const boundary = `----pants${randomBytes(12).toString('hex')}`;
  const parts: Buffer[] = [];
  const part = (disposition: string, type: string | null, body: string | Uint8Array): void => {
    const head = `--${boundary}\r\nContent-Disposition: form-data; ${disposition}\r\n${type === null ? '' : `Content-Type: ${type}\r\n`}\r\n`;
    parts.push(Buffer.from(head, 'utf8'), typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength), Buffer.from('\r\n'));
  };
  for (const [name, value] of Object.entries(form)) {
    for (const one of Array.isArray(value) ? value : [value]) part(`name="${quoted(name)}"`, null, String(one));
  }
  for (const [name, value] of Object.entries(files)) {
    for (const file of Array.isArray(value) && !isTuple(value) ? (value as FileField[]) : [value as FileField]) {
      const described = isTuple(file)
        ? { filename: file[0], body: file[1], type: file[2] }
        : typeof file === 'string' || file instanceof Uint8Array
          ? { body: file }
          : (file as { filename?: string; type?: string; body: string | Uint8Array });
      const filename = described.filename ?? name;
      part(`name="${quoted(name)}"; filename="${quoted(filename)}"`, described.type ?? 'application/octet-stream', described.body);
    }
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { bytes: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Encodes the body options; more than one of `body`, `form` (without `files`) throws. @internal */
export function encodeBody(options: BodyOptions): EncodedBody {
  const { body, form, files } = options;
  if (body !== undefined && (form !== undefined || files !== undefined)) {
    throw codedError(TypeError, 'ERR_PANTS_INVALID_ARGUMENT', 'Give either body, or form and files, not both.');
  }
  if (files !== undefined) return multipart(form ?? {}, files);
  if (form !== undefined) return { bytes: Buffer.from(encodeParams(form), 'utf8'), contentType: 'application/x-www-form-urlencoded' };
  if (body === undefined || body === null) return { bytes: null, contentType: null };
  if (typeof body === 'string') return { bytes: Buffer.from(body, 'utf8'), contentType: 'text/plain; charset=utf-8' };
  if (body instanceof Uint8Array) return { bytes: Buffer.from(body.buffer, body.byteOffset, body.byteLength), contentType: 'application/octet-stream' };
  return { bytes: Buffer.from(JSON.stringify(body), 'utf8'), contentType: 'application/json' };
}
