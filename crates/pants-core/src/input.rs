//! Framed input, what streams and datagram channels have in common: the
//! engine's reading calls work on either through [`FramedInput`].

use crate::framing::{Delimiter, FrameRead};
use crate::reactor::Reactor;

/// Default for the most unframed bytes a channel buffers, as in Pants.
pub const DEFAULT_BUFFER_SIZE: usize = 65536;

/// A channel whose received bytes are taken as frames.
pub(crate) trait FramedInput {
    /// Frames from now on with `delimiter` (the next frame is the first).
    fn set_delimiter(&mut self, delimiter: Delimiter);

    /// Sets the most unframed bytes held (per sender for datagrams) before `Overflow`.
    fn set_buffer_size(&mut self, size: usize);

    /// Takes the next frame, copying its bytes to the start of `out` (a
    /// stream framing HTTP requests may queue an interim response through `reactor`).
    fn read_frame(&mut self, reactor: &mut Reactor, out: &mut [u8]) -> FrameRead;

    /// The bytes framing would look at next (for framing done by the caller).
    fn peek_input(&mut self) -> &[u8];

    /// Takes `count` peeked bytes as a frame (for a datagram channel, 0
    /// means "no frame in them": move on to the next packet).
    fn consume_input(&mut self, count: usize);

    /// Drops unframed input: all of a stream's, the current datagram sender's.
    fn discard_input(&mut self);

    /// Bytes received and not yet taken as frames.
    fn pending_input(&self) -> usize;

    /// Another frame may be ready now: bytes are buffered, or (a stream
    /// reading on demand) the socket may hold more.
    fn more_input(&self) -> bool {
        self.pending_input() > 0
    }

    /// After input was taken: a channel that stopped reading at its limit
    /// reads again on the next poll once there is room.
    fn resume_if_room(&mut self, reactor: &mut Reactor);

    /// The channel's Read event has left the queue: new input raises another.
    fn read_event_taken(&mut self);
}
