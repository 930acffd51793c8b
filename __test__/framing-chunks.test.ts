// An in-memory transport for the framing done in TypeScript (Twisted's
// test_basic.py style): each byte stream is fed to a FrameDecoder whole,
// then in pieces of every size from 1 byte to the whole length, and the
// same frames (and the same unfinished rest) must come out every time, equal
// to the frames written down by hand or the values the stream was packed
// from. The decoder uses the channel's own RegExp step (nextRegexFrame) and
// record unpacking (frameArguments); no socket, no engine.
import test from 'ava';

// The test compiles to build/__test__/, the library to dist/: load the compiled
// module at runtime while type-checking against the source (it is internal).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { FrameDecoder } = require('../../dist/frame_codec.js') as typeof import('../ts/frame_codec.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { NetStruct } = require('../../dist/netstruct.js') as typeof import('../ts/netstruct.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Struct } = require('../../dist/struct.js') as typeof import('../ts/struct.js');

type Delimiter = ConstructorParameters<typeof FrameDecoder>[0];
type Options = ConstructorParameters<typeof FrameDecoder>[1];

/** Frames made comparable: RegExp matches become plain arrays of their groups. */
function plain(frames: unknown[][]): unknown[][] {
  return frames.map((args) => args.map((value) => (Array.isArray(value) ? [...value] : value)));
}

/** Feeds `input` in pieces of `size` bytes; the frames, and the bytes left waiting. */
function feedInPieces(delimiter: Delimiter, options: Options, input: Buffer, size: number): { frames: unknown[][]; rest: Buffer } {
  const decoder = new FrameDecoder(delimiter, options);
  const frames: unknown[][] = [];
  for (let at = 0; at < input.length; at += size) frames.push(...decoder.feed(input.subarray(at, at + size)));
  return { frames: plain(frames), rest: Buffer.from(decoder.pending) };
}

/**
 * Asserts that `input` gives `expected` (and leaves `rest`) fed whole and
 * fed at every piece size.
 */
function checkEveryChunkSize(t: import('ava').ExecutionContext, delimiter: Delimiter, options: Options, input: Buffer, expected: unknown[][], rest = Buffer.alloc(0)): void {
  const whole = feedInPieces(delimiter, options, input, input.length);
  t.deepEqual(whole.frames, expected, 'fed whole');
  t.deepEqual(whole.rest, rest, 'rest, fed whole');
  for (let size = 1; size < input.length; size++) {
    const pieces = feedInPieces(delimiter, options, input, size);
    t.deepEqual(pieces.frames, whole.frames, `frames fed in ${size}-byte pieces`);
    t.deepEqual(pieces.rest, whole.rest, `rest fed in ${size}-byte pieces`);
  }
}

const bytes = (text: string, encoding: BufferEncoding = 'utf8') => Buffer.from(text, encoding);

test('RegExp search: frames before each match, matches dropped, bytes above 0x7f kept as bytes', (t) => {
  const input = bytes('one\r\ntwo\n\ncafé\r\n\u00ff\u00fe\nrest\r');
  checkEveryChunkSize(t, /\r?\n/, {}, input, [[bytes('one')], [bytes('two')], [bytes('')], [bytes('café')], [bytes('\u00ff\u00fe')]], bytes('rest\r'));
});

test('RegExp search with alternatives of different lengths, and an encoding', (t) => {
  // No alternative matches a prefix of another's match: a longer match
  // cannot start as a shorter one at the end of a piece.
  const input = bytes('a;bb,,ccc;dd');
  checkEveryChunkSize(t, /;|,,/, { encoding: 'utf8' }, input, [['a'], ['bb'], ['ccc']], bytes('dd'));
});

test('RegExp anchored (regexSearch = false): the match arrays, groups included', (t) => {
  const input = bytes('a=1;bb=22;ccc=333;dd=4');
  checkEveryChunkSize(t, /(\w+)=(\d+);/, { regexSearch: false }, input, [[['a=1;', 'a', '1']], [['bb=22;', 'bb', '22']], [['ccc=333;', 'ccc', '333']]], bytes('dd=4'));
});

test('Struct: fixed-size records unpacked, a trailing partial record kept', (t) => {
  const struct = new Struct('!HI');
  const values = [[1, 2], [65535, 4294967295], [0, 0], [258, 16909060]];
  const input = Buffer.concat([...values.map((record) => struct.pack(...record)), Buffer.from([9, 9, 9])]);
  checkEveryChunkSize(t, struct, {}, input, values, Buffer.from([9, 9, 9]));
});

test('Struct with 8-byte integers, booleans and byte strings', (t) => {
  const struct = new Struct('<q?3s');
  const values = [[-1n, true, bytes('abc')], [9007199254740993n, false, bytes('\0\0\0')], [0n, true, bytes('xyz')]];
  const input = Buffer.concat(values.map((record) => struct.pack(...record)));
  checkEveryChunkSize(t, struct, {}, input, values);
});

test("NetStruct 'H$': variable-length records, empty strings included", (t) => {
  const record = new NetStruct('H$');
  const values = [[bytes('hello')], [bytes('')], [bytes('a')], [Buffer.alloc(300, 7)]];
  const input = Buffer.concat([...values.map((value) => record.pack(...value)), Buffer.from([0, 4, 1, 2])]);
  checkEveryChunkSize(t, record, {}, input, values, Buffer.from([0, 4, 1, 2]));
});

test("NetStruct 'ih$5b' and '<B$Q$': fixed fields around the strings, several strings per record", (t) => {
  const first = new NetStruct('ih$5b');
  const firstValues = [[-7, bytes('xy'), 1, 2, 3, 4, 5], [2147483647, bytes(''), -1, -2, -3, -4, -5]];
  checkEveryChunkSize(t, first, {}, Buffer.concat(firstValues.map((value) => first.pack(...value))), firstValues);
  const second = new NetStruct('<B$Q$');
  const secondValues = [[bytes('ab'), bytes('cde')], [bytes(''), bytes('')], [Buffer.alloc(255, 1), bytes('z')]];
  checkEveryChunkSize(t, second, {}, Buffer.concat(secondValues.map((value) => second.pack(...value))), secondValues);
});

test('byte-count and string delimiters frame the same in memory at every piece size', (t) => {
  checkEveryChunkSize(t, 3, {}, bytes('abcdefgh'), [[bytes('abc')], [bytes('def')]], bytes('gh'));
  checkEveryChunkSize(t, '\r\n\r\n', {}, bytes('GET / HTTP/1.1\r\nHost: x\r\n\r\nbody\r\r\n\r\n\r'), [[bytes('GET / HTTP/1.1\r\nHost: x')], [bytes('body\r')]], bytes('\r'));
});

test('more than bufferSize bytes without a frame are dropped and counted, as on a channel', (t) => {
  const decoder = new FrameDecoder(/\n/, { bufferSize: 4 });
  t.deepEqual(decoder.feed(bytes('abcd')), []);
  t.is(decoder.overflows, 0);
  t.deepEqual(decoder.feed(bytes('e')), []);
  t.is(decoder.overflows, 1);
  t.deepEqual(plain(decoder.feed(bytes('ok\n'))), [[bytes('ok')]]);
});
