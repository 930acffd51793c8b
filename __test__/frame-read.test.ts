// The numbers readFrame and peekInput return (pants_core::FrameRead::encode)
// are read in one place, ts/frame_read.ts: each encoding, taken apart.
import test from 'ava';

// Internal modules: loaded from dist/ at runtime, typed by the sources.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const read = require('../../dist/frame_read.js') as typeof import('../ts/frame_read.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const contract = require('../../dist/contract.js') as typeof import('../ts/contract.js');

const { frameReadKind, frameReadLength, moreInputAfter } = read;
/** FrameReadKind's values, in declaration order (a const enum has no runtime object). */
const FRAME = 0;
const INCOMPLETE = 1;
const OVERFLOW = 2;
const NEED_SPACE = 3;

test('a frame: its length, with or without more input after it', (t) => {
  for (const length of [0, 1, 17, 65536, 2 ** 31]) {
    t.is(frameReadKind(length), FRAME);
    t.is(frameReadLength(length), length);
    t.false(moreInputAfter(length));
    const more = length + contract.MORE_INPUT;
    t.is(frameReadKind(more), FRAME);
    t.is(frameReadLength(more), length);
    t.true(moreInputAfter(more));
  }
});

test('incomplete and overflow', (t) => {
  t.is(frameReadKind(contract.FRAME_INCOMPLETE), INCOMPLETE);
  t.is(frameReadKind(contract.FRAME_OVERFLOW), OVERFLOW);
  t.false(moreInputAfter(contract.FRAME_INCOMPLETE));
  t.is(frameReadLength(contract.FRAME_OVERFLOW), 0);
});

test('need space: the room the frame asks for', (t) => {
  for (const needed of [0, 1, 4096, 1 << 20]) {
    const result = contract.NEED_SPACE - needed;
    t.is(frameReadKind(result), NEED_SPACE);
    t.is(frameReadLength(result), needed);
    t.false(moreInputAfter(result));
  }
});
