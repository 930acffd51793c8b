// The HTTP layer's pure parts, each against a reference users trust: query
// strings against URLSearchParams, multipart bodies as undici's FormData
// encodes them, cookies and ranges against the RFCs' own examples.
import test from 'ava';

/* eslint-disable @typescript-eslint/no-require-imports */
const { HTTPHeaders } = require('../../dist/http/headers.js') as typeof import('../ts/http/headers.js');
const { parseParams, parseMultipart, parseHeaderParams, splitTarget } = require('../../dist/http/forms.js') as typeof import('../ts/http/forms.js');
const { parseCookies, serializeCookie, signCookie, verifyCookie } = require('../../dist/http/cookies.js') as typeof import('../ts/http/cookies.js');
const { parseRange } = require('../../dist/http/ranges.js') as typeof import('../ts/http/ranges.js');
/* eslint-enable @typescript-eslint/no-require-imports */

test('headers are case-insensitive, keep repeated values and their first spelling', (t) => {
  const headers = new HTTPHeaders([
    ['Content-Type', 'text/plain'],
    ['Set-Cookie', 'a=1'],
    ['set-cookie', 'b=2'],
  ]);
  t.is(headers.get('content-type'), 'text/plain');
  t.is(headers.get('SET-COOKIE'), 'a=1, b=2');
  t.deepEqual(headers.getAll('Set-Cookie'), ['a=1', 'b=2']);
  t.true(headers.has('CONTENT-TYPE'));
  t.is(headers.get('x-missing'), null);
  t.deepEqual(headers.getAll('x-missing'), []);
  t.deepEqual([...headers], [
    ['content-type', 'text/plain'],
    ['set-cookie', 'a=1'],
    ['set-cookie', 'b=2'],
  ]);
  t.deepEqual([...headers.lines()].map(([name]) => name), ['Content-Type', 'Set-Cookie', 'Set-Cookie']);
  headers.set('SET-cookie', 'c=3');
  t.deepEqual(headers.getAll('set-cookie'), ['c=3']);
  t.deepEqual(new HTTPHeaders({ 'X-A': ['1', '2'], 'X-B': 3 }).toJSON(), { 'x-a': ['1', '2'], 'x-b': '3' });
});

test('query strings and urlencoded bodies read as URLSearchParams reads them, repeated keys as arrays', (t) => {
  for (const query of ['a=1&b=2&a=3', 'x=%E2%9C%93+y&empty=&flag', 'k=a%26b%3Dc&k=&&=v', 'bad=%zz&%E2=1']) {
    const expected: Record<string, string | string[]> = {};
    for (const [name, value] of new URLSearchParams(query)) {
      const previous = expected[name];
      expected[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
    }
    // URLSearchParams turns malformed escapes into U+FFFD; Pants keeps them as sent.
    const ours = parseParams(query);
    for (const name of Object.keys(expected).filter((key) => !key.includes('\uFFFD') && !String(expected[key]).includes('\uFFFD'))) {
      t.deepEqual(ours[name], expected[name], `${query}: ${name}`);
    }
  }
  t.deepEqual({ ...parseParams('bad=%zz') }, { bad: '%zz' });
});

test('a target splits into decoded path, raw query and fragment', (t) => {
  t.deepEqual(splitTarget('/a%20b/c?x=1&y=%20#frag'), { path: '/a b/c', rawPath: '/a%20b/c', query: 'x=1&y=%20', fragment: 'frag' });
  t.deepEqual(splitTarget('/plain'), { path: '/plain', rawPath: '/plain', query: '', fragment: '' });
  t.is(splitTarget('/bad%zz%41').path, '/bad%zzA');
});

test('header parameters read quoted values with separators and escapes', (t) => {
  const { type, params } = parseHeaderParams('Multipart/Form-Data; boundary="a;b\\"c"; charset=utf-8');
  t.is(type, 'multipart/form-data');
  t.is(params.get('boundary'), 'a;b"c');
  t.is(params.get('charset'), 'utf-8');
});

test('multipart bodies as undici encodes them come back as fields and files', async (t) => {
  const form = new FormData();
  form.append('name', 'Pants ✓');
  form.append('name', 'twice');
  form.append('upload', new Blob([Buffer.from([0, 1, 2, 13, 10, 45, 45])], { type: 'application/x-test' }), 'data;1.bin');
  form.append('upload', new Blob(['hello']), 'b.txt');
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  const body = Buffer.from(await request.arrayBuffer());
  const boundary = parseHeaderParams(request.headers.get('content-type') ?? '').params.get('boundary') ?? '';
  const parsed = parseMultipart(body, boundary);
  t.truthy(parsed);
  t.deepEqual(parsed?.fields.name, ['Pants ✓', 'twice']);
  t.is(parsed?.files.upload.length, 2);
  t.is(parsed?.files.upload[0].filename, 'data;1.bin');
  t.is(parsed?.files.upload[0].type, 'application/x-test');
  t.deepEqual([...(parsed?.files.upload[0].body ?? [])], [0, 1, 2, 13, 10, 45, 45]);
  t.is(parsed?.files.upload[1].body.toString(), 'hello');
  t.is(parseMultipart(body.subarray(0, body.length - 10), boundary), null);
  t.is(parseMultipart(body, 'not-the-boundary'), null);
});

test('cookies: the Cookie header read, Set-Cookie written with attributes, unsafe names and attributes refused', (t) => {
  t.deepEqual({ ...parseCookies('a=1; b="two words"; c=%E2%9C%93; a=shadowed; junk') }, { a: '1', b: 'two words', c: '✓' });
  t.deepEqual({ ...parseCookies(null) }, {});
  t.is(
    serializeCookie('id', 'a b;c', { maxAge: 60, domain: 'example.com', secure: true, httpOnly: true, sameSite: 'Lax' }),
    'id=a%20b%3Bc; Max-Age=60; Domain=example.com; Path=/; Secure; HttpOnly; SameSite=Lax',
  );
  t.is(serializeCookie('x', '1', { expires: 0, path: '/p' }), 'x=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/p');
  t.throws(() => serializeCookie('bad name', '1'), { instanceOf: TypeError });
  t.throws(() => serializeCookie('x', '1', { path: '/; Domain=evil' }), { instanceOf: TypeError });
});

test('signed cookies read back, and read as null when tampered with, signed for another name or key, or expired', (t) => {
  const now = 1_800_000_000;
  const signed = signCookie('secret', 'user', 'alice|admin', { maxAge: 60 }, now);
  t.is(verifyCookie('secret', 'user', signed, now + 59), 'alice|admin');
  t.is(verifyCookie('secret', 'user', signed, now + 60), null);
  t.is(verifyCookie('other', 'user', signed, now), null);
  t.is(verifyCookie('secret', 'admin', signed, now), null);
  const [value, expiry, mac] = signed.split('.');
  t.is(verifyCookie('secret', 'user', `${Buffer.from('mallory|admin').toString('base64url')}.${expiry}.${mac}`, now), null);
  t.is(verifyCookie('secret', 'user', `${value}.${Number(expiry) + 1000}.${mac}`, now), null);
  t.is(verifyCookie('secret', 'user', 'garbage', now), null);
  t.is(verifyCookie('secret', 'user', undefined, now), null);
  t.is(verifyCookie('secret', 'user', signCookie('secret', 'user', 'v', {}, now), now + 30 * 24 * 3600), 'v');
});

test("ranges: RFC 9110's examples, suffixes, unsatisfiable and ignored headers", (t) => {
  const size = 10000;
  t.deepEqual(parseRange('bytes=0-499', size), [{ start: 0, end: 499 }]);
  t.deepEqual(parseRange('bytes=500-999', size), [{ start: 500, end: 999 }]);
  t.deepEqual(parseRange('bytes=-500', size), [{ start: 9500, end: 9999 }]);
  t.deepEqual(parseRange('bytes=9500-', size), [{ start: 9500, end: 9999 }]);
  t.deepEqual(parseRange('bytes=0-0,-1', size), [
    { start: 0, end: 0 },
    { start: 9999, end: 9999 },
  ]);
  t.deepEqual(parseRange('bytes=9000-20000', size), [{ start: 9000, end: 9999 }]);
  t.deepEqual(parseRange('bytes=-20000', size), [{ start: 0, end: 9999 }]);
  t.is(parseRange('bytes=10000-', size), 'unsatisfiable');
  t.is(parseRange('bytes=-0', size), 'unsatisfiable');
  t.is(parseRange('bytes=0-', 0), 'unsatisfiable');
  for (const ignored of [null, 'items=0-1', 'bytes=', 'bytes=5-1', 'bytes=a-b', `bytes=${'0-1,'.repeat(65)}0-1`]) {
    t.is(parseRange(ignored, size), null, String(ignored));
  }
});
