//! permessage-deflate (RFC 7692): raw deflate per message, the final
//! empty stored block (`00 00 ff ff`) left off the wire.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The bytes a sync flush ends with, which the wire leaves off.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Output grows by this much at a time.
const STEP: usize = 16 * 1024;

/// Why a message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// The data is not valid deflate.
    Corrupt,
    /// It inflates to more than the limit.
    TooBig,
}

/// Decompresses messages, keeping the window between them unless told not to.
#[derive(Debug)]
pub struct Inflater {
    state: Decompress,
    no_context_takeover: bool,
}

impl Inflater {
    /// A decompressor; `no_context_takeover`: reset after each message.
    pub fn new(no_context_takeover: bool) -> Self {
        Self { state: Decompress::new(false), no_context_takeover }
    }

    /// Inflates one message's compressed payload, appending at most `limit` bytes to `out`.
    pub fn inflate(&mut self, compressed: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), InflateError> {
        let result = self.run(compressed, limit, out).and_then(|()| self.run(&TAIL, limit, out));
        if self.no_context_takeover || result.is_err() {
            self.state.reset(false);
        }
        result
    }

    fn run(&mut self, mut input: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), InflateError> {
        loop {
            if out.capacity() - out.len() < STEP {
                out.reserve(STEP);
            }
            let before_in = self.state.total_in();
            let before_out = out.len();
            let status = self.state.decompress_vec(input, out, FlushDecompress::Sync).map_err(|_| InflateError::Corrupt)?;
            let used = (self.state.total_in() - before_in) as usize;
            input = &input[used..];
            if out.len() > limit {
                return Err(InflateError::TooBig);
            }
            let produced = out.len() - before_out;
            match status {
                // A final block ends the deflate stream: nothing may follow in this message.
                Status::StreamEnd => return if input.is_empty() { Ok(()) } else { Err(InflateError::Corrupt) },
                _ if input.is_empty() && out.len() < out.capacity() => return Ok(()),
                _ if used == 0 && produced == 0 && out.len() < out.capacity() => return Err(InflateError::Corrupt),
                _ => {}
            }
        }
    }
}

/// Compresses messages, keeping the window between them unless told not to.
#[derive(Debug)]
pub struct Deflater {
    state: Compress,
    no_context_takeover: bool,
}

impl Deflater {
    /// A compressor with a window of `2^window_bits` bytes (9 to 15);
    /// `no_context_takeover`: reset after each message.
    pub fn new(no_context_takeover: bool, window_bits: u8) -> Self {
        Self { state: Compress::new_with_window_bits(Compression::fast(), false, window_bits.clamp(9, 15)), no_context_takeover }
    }

    /// Appends `message` compressed, without the trailing `00 00 ff ff`, to `out`.
    pub fn deflate(&mut self, message: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        let mut input = message;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(STEP.max(input.len() / 2));
            }
            let before_in = self.state.total_in();
            self.state.compress_vec(input, out, FlushCompress::Sync).expect("deflate of a buffer cannot fail");
            input = &input[(self.state.total_in() - before_in) as usize..];
            // Done when everything went in and the flush fitted (room was left over).
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if out.len() - start >= TAIL.len() && out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.no_context_takeover {
            self.state.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_and_without_context_takeover() {
        for no_context in [false, true] {
            let mut deflater = Deflater::new(no_context, 15);
            let mut inflater = Inflater::new(no_context);
            for round in 0..5 {
                let message: Vec<u8> = format!("message {round}: {}", "hello websocket ".repeat(200)).into_bytes();
                let mut compressed = Vec::new();
                deflater.deflate(&message, &mut compressed);
                assert!(compressed.len() < message.len() / 4);
                let mut inflated = Vec::new();
                inflater.inflate(&compressed, 1 << 20, &mut inflated).unwrap();
                assert_eq!(inflated, message);
            }
        }
    }

    #[test]
    fn empty_and_incompressible_messages() {
        let mut deflater = Deflater::new(false, 15);
        let mut inflater = Inflater::new(false);
        let noise: Vec<u8> = (0..100_000u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for message in [Vec::new(), noise] {
            let mut compressed = Vec::new();
            deflater.deflate(&message, &mut compressed);
            let mut inflated = Vec::new();
            inflater.inflate(&compressed, 1 << 20, &mut inflated).unwrap();
            assert_eq!(inflated, message);
        }
    }

    #[test]
    fn a_small_window_inflates_with_the_default_one() {
        let mut deflater = Deflater::new(false, 9);
        let mut inflater = Inflater::new(false);
        let message: Vec<u8> = (0..50_000u32).map(|n| b"abcdefghij"[(n % 7 + n / 1000 % 3) as usize]).collect();
        let mut compressed = Vec::new();
        deflater.deflate(&message, &mut compressed);
        let mut inflated = Vec::new();
        inflater.inflate(&compressed, 1 << 20, &mut inflated).unwrap();
        assert_eq!(inflated, message);
    }

    #[test]
    fn the_limit_and_corrupt_data() {
        let mut deflater = Deflater::new(false, 15);
        let mut compressed = Vec::new();
        deflater.deflate(&vec![b'a'; 100_000], &mut compressed);
        assert_eq!(Inflater::new(false).inflate(&compressed, 1000, &mut Vec::new()), Err(InflateError::TooBig));
        assert_eq!(Inflater::new(false).inflate(&[0xff, 0xff, 0xff, 0xff], 1000, &mut Vec::new()), Err(InflateError::Corrupt));
    }
}
