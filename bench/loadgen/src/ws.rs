//! `--ws`: the client side of WebSocket (RFC 6455), by hand and only as far
//! as an echo benchmark needs: the upgrade request and its `101`, masked
//! frames out (with a zero masking key, which is valid and leaves the
//! payload as it is), and the server's unmasked frames parsed and checked
//! on the way in. With `--compress`, permessage-deflate (RFC 7692): messages
//! go out compressed, each on its own (no context kept on our side), and
//! come back compressed with the server's context, inflated here.

use std::io;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::pattern::Pattern;

/// The RFC's sample key, and the `Sec-WebSocket-Accept` it must produce.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

pub const OPCODE_TEXT: u8 = 0x1;
pub const OPCODE_BINARY: u8 = 0x2;
const OPCODE_CLOSE: u8 = 0x8;
const FIN: u8 = 0x80;
const RSV1: u8 = 0x40;
const MASKED: u8 = 0x80;

/// The end of every deflated message, left off on the wire (RFC 7692 §7.2.1).
const DEFLATE_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Response headers larger than this are not a WebSocket server's.
const MAX_RESPONSE: usize = 16 * 1024;

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// The upgrade request, for `path`.
pub fn request(host: &str, path: &str, compress: bool) -> Vec<u8> {
    let extensions = if compress { "Sec-WebSocket-Extensions: permessage-deflate\r\n" } else { "" };
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extensions}\r\n"
    )
    .into_bytes()
}

/// Checks the server's answer to [`request`], given everything received so
/// far: Ok(None) while its header is incomplete, Ok(Some(length of the
/// header)) for a `101` with the right accept key (and permessage-deflate
/// when asked for).
pub fn response(received: &[u8], compress: bool) -> io::Result<Option<usize>> {
    let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if received.len() > MAX_RESPONSE { Err(invalid("no end to the upgrade response's header")) } else { Ok(None) };
    };
    let head = String::from_utf8_lossy(&received[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    if !status.starts_with("HTTP/1.1 101") {
        return Err(invalid(format!("upgrade refused: {status}")));
    }
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
        })
    };
    if header("sec-websocket-accept").as_deref() != Some(ACCEPT) {
        return Err(invalid("wrong or missing Sec-WebSocket-Accept"));
    }
    let deflate = header("sec-websocket-extensions").is_some_and(|e| e.starts_with("permessage-deflate"));
    if deflate != compress {
        return Err(invalid(format!("permessage-deflate {} by the server", if deflate { "chosen" } else { "refused" })));
    }
    Ok(Some(end + 4))
}

/// Appends a client frame header for a final frame of `len` payload bytes:
/// 2, 4 or 10 bytes, then the zero masking key.
fn write_header(out: &mut Vec<u8>, first: u8, len: usize) {
    match len {
        0..=125 => out.extend_from_slice(&[first, MASKED | len as u8]),
        126..=0xffff => {
            out.extend_from_slice(&[first, MASKED | 126]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.extend_from_slice(&[first, MASKED | 127]);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0; 4]);
}

/// Every message of the pattern, deflated on its own, made once at start
/// (so that the load generator's CPU goes to the connections, not to zlib).
pub struct Deflated(Vec<Vec<u8>>);

impl Deflated {
    /// Deflates the messages at each of the first `offsets` offsets.
    pub fn new(pattern: &Pattern, offsets: usize) -> Self {
        let mut deflate = Compress::new(Compression::default(), false);
        let messages = (0..offsets)
            .map(|offset| {
                let mut message = Vec::new();
                pattern.write(offset, &mut message);
                deflate.reset();
                let mut out = Vec::with_capacity(message.len() + 64);
                deflate.compress_vec(&message, &mut out, FlushCompress::Sync).expect("deflate");
                assert!(deflate.total_in() as usize == message.len() && out.ends_with(&DEFLATE_TAIL), "deflate did not take the whole message");
                out.truncate(out.len() - DEFLATE_TAIL.len());
                out
            })
            .collect();
        Deflated(messages)
    }
}

/// A frame header being received, then its payload.
enum Reading {
    Header { bytes: [u8; 10], have: usize },
    Payload { left: usize, compressed: bool },
}

/// A connection's WebSocket side: what it sends and what it expects back.
pub struct Ws {
    opcode: u8,
    reading: Reading,
    /// With `--compress`: the messages as sent, and the server's context.
    deflated: Option<std::rc::Rc<Deflated>>,
    inflate: Option<Decompress>,
    /// A compressed payload being received, and its inflated form.
    compressed: Vec<u8>,
    inflated: Vec<u8>,
}

/// What a piece of received data was.
pub enum Piece<'s, 'd> {
    /// Payload bytes of the current message, and whether they end it.
    Payload(&'d [u8], bool),
    /// A whole compressed message, inflated.
    Inflated(&'s [u8]),
    /// Part of a frame header (nothing to check yet).
    Header,
}

impl Ws {
    pub fn new(text: bool, deflated: Option<std::rc::Rc<Deflated>>) -> Self {
        let inflate = deflated.as_ref().map(|_| Decompress::new(false));
        Ws {
            opcode: if text { OPCODE_TEXT } else { OPCODE_BINARY },
            reading: Reading::Header { bytes: [0; 10], have: 0 },
            deflated,
            inflate,
            compressed: Vec::new(),
            inflated: Vec::new(),
        }
    }

    /// Whether permessage-deflate is asked for.
    pub fn compresses(&self) -> bool {
        self.deflated.is_some()
    }

    /// Appends the message starting at `offset` as one frame.
    pub fn write_message(&self, pattern: &Pattern, offset: usize, out: &mut Vec<u8>) {
        if let Some(deflated) = &self.deflated {
            let payload = &deflated.0[offset];
            write_header(out, FIN | RSV1 | self.opcode, payload.len());
            out.extend_from_slice(payload);
        } else {
            write_header(out, FIN | self.opcode, pattern.size());
            pattern.write(offset, out);
        }
    }

    /// Takes what it can of `data`: frame header bytes, then payload.
    /// `size` is the length of an uncompressed message.
    pub fn next<'s, 'd>(&'s mut self, data: &mut &'d [u8], size: usize) -> io::Result<Piece<'s, 'd>> {
        match &mut self.reading {
            Reading::Header { bytes, have } => {
                let need = match *have {
                    0 | 1 => 2,
                    _ => match bytes[1] & 0x7f {
                        126 => 4,
                        127 => 10,
                        _ => 2,
                    },
                };
                let take = (need - *have).min(data.len());
                bytes[*have..*have + take].copy_from_slice(&data[..take]);
                *have += take;
                *data = &data[take..];
                if *have < need || (need == 2 && bytes[1] & 0x7f >= 126) {
                    return Ok(Piece::Header);
                }
                let (first, second) = (bytes[0], bytes[1]);
                let len = match need {
                    2 => (second & 0x7f) as usize,
                    4 => u16::from_be_bytes([bytes[2], bytes[3]]) as usize,
                    _ => u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
                };
                if first & 0x0f == OPCODE_CLOSE {
                    return Err(invalid("the server sent a close frame"));
                }
                let compressed = first & RSV1 != 0;
                if first & !RSV1 != FIN | self.opcode || second & MASKED != 0 || (compressed && self.inflate.is_none()) {
                    return Err(invalid(format!("unexpected frame header {first:#04x} {second:#04x}")));
                }
                if !compressed && len != size {
                    return Err(invalid(format!("a frame of {len} bytes echoing a message of {size}")));
                }
                self.reading = Reading::Payload { left: len, compressed };
                self.compressed.clear();
                Ok(Piece::Header)
            }
            Reading::Payload { left, compressed } => {
                let take = (*left).min(data.len());
                let (chunk, rest) = data.split_at(take);
                *data = rest;
                *left -= take;
                let end = *left == 0;
                let compressed = *compressed;
                if end {
                    self.reading = Reading::Header { bytes: [0; 10], have: 0 };
                }
                if !compressed {
                    return Ok(Piece::Payload(chunk, end));
                }
                self.compressed.extend_from_slice(chunk);
                if !end {
                    return Ok(Piece::Header);
                }
                self.compressed.extend_from_slice(&DEFLATE_TAIL);
                let inflate = self.inflate.as_mut().expect("compressed frames only with --compress");
                self.inflated.clear();
                // One byte more than a message, to notice a longer one.
                self.inflated.reserve(size + 1);
                let before = inflate.total_in();
                let status =
                    inflate.decompress_vec(&self.compressed, &mut self.inflated, FlushDecompress::Sync).map_err(|e| invalid(format!("inflate: {e}")))?;
                if inflate.total_in() - before != self.compressed.len() as u64 || status == Status::StreamEnd {
                    return Err(invalid(format!("a compressed message inflating to more than {size} bytes")));
                }
                Ok(Piece::Inflated(&self.inflated))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::Content;

    #[test]
    fn response_is_checked() {
        let ok = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n");
        assert_eq!(response(ok.as_bytes(), false).unwrap(), Some(ok.len()));
        assert_eq!(response(&ok.as_bytes()[..ok.len() - 1], false).unwrap(), None);
        assert!(response(ok.as_bytes(), true).is_err(), "deflate asked for, not given");
        assert!(response(b"HTTP/1.1 400 Bad Request\r\n\r\n", false).is_err());
        assert!(response(ok.replace(ACCEPT, "x").as_bytes(), false).is_err());
    }

    #[test]
    fn headers_by_length() {
        for (len, header) in [(64usize, 2usize), (126, 4), (65535, 4), (65536, 10)] {
            let mut out = Vec::new();
            write_header(&mut out, FIN | OPCODE_BINARY, len);
            assert_eq!(out.len(), header + 4, "{len}");
            assert_eq!(out[1] & MASKED, MASKED);
        }
    }

    /// A server frame, split at every point, comes out as its payload.
    #[test]
    fn reads_frames_in_any_split() {
        let size = 300;
        let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let mut frame = vec![FIN | OPCODE_BINARY, 126, 1, 44];
        frame.extend_from_slice(&payload);
        for split in 0..frame.len() {
            let mut ws = Ws::new(false, None);
            let mut got = Vec::new();
            let mut ended = false;
            for part in [&frame[..split], &frame[split..]] {
                let mut data = part;
                while !data.is_empty() {
                    if let Piece::Payload(chunk, end) = ws.next(&mut data, size).unwrap() {
                        got.extend_from_slice(chunk);
                        ended |= end;
                    }
                }
            }
            assert!(ended && got == payload, "split at {split}");
        }
        let mut ws = Ws::new(true, None);
        let mut data: &[u8] = &frame;
        let failed = (0..3).any(|_| ws.next(&mut data, size).is_err());
        assert!(failed, "binary where text was sent");
    }

    #[test]
    fn inflates_what_it_deflated() {
        let pattern = Pattern::new(4096, Content::Json, 4);
        let deflated = std::rc::Rc::new(Deflated::new(&pattern, 4));
        let mut ws = Ws::new(true, Some(deflated.clone()));
        let mut out = Vec::new();
        ws.write_message(&pattern, 2, &mut out);
        // Our own frame, as a server would send it: unmasked.
        let mut frame = vec![out[0], out[1] & !MASKED];
        frame.extend_from_slice(&out[2..4]);
        frame.extend_from_slice(&out[8..]);
        assert!(frame.len() < 2048, "JSON compresses");
        let mut data: &[u8] = &frame;
        let mut message = None;
        while !data.is_empty() {
            if let Piece::Inflated(m) = ws.next(&mut data, 4096).unwrap() {
                message = Some(m.to_vec());
            }
        }
        assert!(pattern.matches(2, 0, &message.unwrap()));
    }
}
