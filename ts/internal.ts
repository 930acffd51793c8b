/**
 * Symbols the classes of this package use to talk to each other. They are
 * not exported from the package root: users see only the public API.
 * @internal
 */

/** `engine[kNative]`: the engine's `NativeEngine`. */
export const kNative = Symbol('pants.native');
/** `engine[kRegister](token, channel)` / `engine[kUnregister](token)`. */
export const kRegister = Symbol('pants.register');
export const kUnregister = Symbol('pants.unregister');
/** `engine[kFramePool]`: the pool frames are copied into. */
export const kFramePool = Symbol('pants.framePool');
/** `channel[kHandleEvent](kind, a, b)`: an engine event for this channel. */
export const kHandleEvent = Symbol('pants.handleEvent');
/** `stream[kAttach](token, fd, server)`: adopt a connection accepted by `server`. */
export const kAttach = Symbol('pants.attach');

/** What the engine dispatches events to. */
export interface EventTarget {
  [kHandleEvent](kind: number, a: number, b: number): void;
}
