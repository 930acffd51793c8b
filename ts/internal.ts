// Symbols the classes of this package use to talk to each other. They are
// not exported from the package root, and the members keyed by them are
// marked @internal, so the published declarations (stripInternal) leave
// them out: users see only the public API, and a user's subclass may name
// its own fields and methods anything.

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

// What Channel, FramedChannel and their subclasses in this package use among
// themselves: symbol keys, so that a user's subclass may name its own fields
// and methods anything.

/** `channel[kSafely](name, fn, ...args)`: runs a user callback, logging what it throws or rejects with. */
export const kSafely = Symbol('pants.safely');
/** `channel[kLogAndClose](name, error)`: the default error callback (logger.error, close(false)). */
export const kLogAndClose = Symbol('pants.logAndClose');
/** `channel[kWarnAndClose](name, error)`: the default for a peer's error (one logger.warn line, close(false)). */
export const kWarnAndClose = Symbol('pants.warnAndClose');
/** `channel[kEngineId]`: the native engine's id. */
export const kEngineId = Symbol('pants.engineId');
/** `channel[kToken]`: the channel's native token, -1 without one. */
export const kToken = Symbol('pants.token');
/** `channel[kBindToken](token)` / `channel[kReleaseToken]()`: take or give back a native token. */
export const kBindToken = Symbol('pants.bindToken');
export const kReleaseToken = Symbol('pants.releaseToken');
/** `channel[kState]`: where the channel is in its life (`ChannelState`), get and set. */
export const kState = Symbol('pants.state');
/** `channel[kClosing]`: true once `close()` was called or the channel closed. */
export const kClosing = Symbol('pants.closing');
/** `channel[kOpened](fileno)`: the socket is open (connected, listening, bound). */
export const kOpened = Symbol('pants.opened');
/** `channel[kFinishClose]()`: the end of the channel's life, once (token released, owner's hook, `onClose`). */
export const kFinishClose = Symbol('pants.finishClose');
/** `channel[kFinishing]()`: what a subclass does as it closes, before its token is released. */
export const kFinishing = Symbol('pants.finishing');
/** `channel[kWhenFinished](hook)`: the owner's hook, run once the channel has closed (a server forgets its stream). */
export const kWhenFinished = Symbol('pants.whenFinished');
/** `channel[kAdoptFieldSettings](keys)`: moves settings declared as subclass fields onto the accessors. */
export const kAdoptFieldSettings = Symbol('pants.adoptFieldSettings');
/** `channel[kReading]`: true while frames should be delivered. */
export const kReading = Symbol('pants.reading');
/** `channel[kFrameArrived]()`: called before each frame is delivered. */
export const kFrameArrived = Symbol('pants.frameArrived');
/** `channel[kOverflowError]()`: the error `onOverflowError` gets. */
export const kOverflowError = Symbol('pants.overflowError');
/** `channel[kReadFrames]()`: delivers every complete frame. */
export const kReadFrames = Symbol('pants.readFrames');
/** `channel[kUseFraming](framing, delimiter)`: frames by a prepared framing (the HTTP layer's request framing). */
export const kUseFraming = Symbol('pants.useFraming');
/** `engine[kActiveChannels](delta)`: a channel started (+1) or ended (-1) its active life. */
export const kActiveChannels = Symbol('pants.activeChannels');
