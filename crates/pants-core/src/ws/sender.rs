//! Outgoing WebSocket frames: one frame per message (never fragmented),
//! masked with fresh random keys on the client side, compressed with
//! permessage-deflate when negotiated.

use ring::rand::{SecureRandom, SystemRandom};

use super::deflate::Deflater;
use super::{apply_mask, Role, WsSettings, OP_BINARY, OP_TEXT};

/// Messages shorter than this go out uncompressed even with
/// permessage-deflate: the deflate block would not be smaller.
const COMPRESS_MIN: usize = 64;

/// Random bytes fetched at a time for masking keys.
const RANDOM_BATCH: usize = 1024;

/// Builds the frames one connection sends.
#[derive(Debug)]
pub struct MessageSender {
    role: Role,
    deflater: Option<Deflater>,
    /// Random bytes for masking keys, used 4 at a time from `random_used`.
    random: Vec<u8>,
    random_used: usize,
    /// A message's compressed bytes (kept for its allocation).
    compressed: Vec<u8>,
}

/// Appends a frame header: FIN, `first` (opcode and RSV1), the length, the mask flag.
fn header(first: u8, length: usize, masked: bool, out: &mut Vec<u8>) {
    let mask_bit = if masked { 0x80 } else { 0 };
    out.push(0x80 | first);
    if length < 126 {
        out.push(mask_bit | length as u8);
    } else if let Ok(short) = u16::try_from(length) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(length as u64).to_be_bytes());
    }
}

/// Appends one unmasked, uncompressed frame (what a server sends without
/// permessage-deflate): the same bytes for every such connection.
pub fn plain_frame(opcode: u8, payload: &[u8], out: &mut Vec<u8>) {
    header(opcode, payload.len(), false, out);
    out.extend_from_slice(payload);
}

impl MessageSender {
    /// A sender for a connection speaking as `settings` say.
    pub fn new(settings: &WsSettings) -> Self {
        let deflater = settings.deflate.map(|deflate| Deflater::new(deflate.deflate_no_context_takeover, deflate.deflate_window_bits));
        Self { role: settings.role, deflater, random: Vec::new(), random_used: 0, compressed: Vec::new() }
    }

    /// Frames from this sender are [`plain_frame`]s.
    pub fn is_plain(&self) -> bool {
        self.role == Role::Server && self.deflater.is_none()
    }

    /// Appends the frame of one message or control frame to `out`.
    pub fn encode(&mut self, opcode: u8, payload: &[u8], out: &mut Vec<u8>) {
        let mask = (self.role == Role::Client).then(|| self.next_mask());
        let mut first = opcode;
        let mut body = payload;
        if let Some(deflater) = self.deflater.as_mut() {
            if matches!(opcode, OP_TEXT | OP_BINARY) && payload.len() >= COMPRESS_MIN {
                self.compressed.clear();
                deflater.deflate(payload, &mut self.compressed);
                first |= 0x40;
                body = &self.compressed;
            }
        }
        let Some(mask) = mask else {
            header(first, body.len(), false, out);
            out.extend_from_slice(body);
            return;
        };
        header(first, body.len(), true, out);
        out.extend_from_slice(&mask);
        let start = out.len();
        out.extend_from_slice(body);
        apply_mask(&mut out[start..], mask);
    }

    /// A masking key from the system's secure random source (RFC 6455 asks for unpredictable keys).
    fn next_mask(&mut self) -> [u8; 4] {
        if self.random_used + 4 > self.random.len() {
            self.random.resize(RANDOM_BATCH, 0);
            SystemRandom::new().fill(&mut self.random).expect("the system's random source works");
            self.random_used = 0;
        }
        let key = &self.random[self.random_used..self.random_used + 4];
        self.random_used += 4;
        [key[0], key[1], key[2], key[3]]
    }
}
