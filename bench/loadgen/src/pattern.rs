//! What messages are made of: one block of random bytes per run, from
//! which each message is cut at a random offset. Messages differ from each
//! other (so a mis-ordered, duplicated or corrupted echo is caught), yet
//! making one is a memcpy and checking its echo a memcmp against the block,
//! with no per-byte work: the load generator stays cheap at GB/s.

/// How many different offsets messages start at.
pub const OFFSETS: usize = 1 << 16;

/// A tiny xorshift generator: message offsets and the block's contents.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// What the block, and so every message, is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Random bytes.
    Binary,
    /// Printable ASCII (valid UTF-8: WebSocket text messages).
    Printable,
    /// Printable ASCII, each message ending in '\n' (`--line`).
    Line,
    /// JSON records with random values: text that compresses as JSON does.
    Json,
}

pub struct Pattern {
    bytes: Vec<u8>,
    /// Bytes per message, including the '\n' of a line.
    size: usize,
    line: bool,
    /// Messages start at offsets below this.
    offsets: usize,
}

impl Pattern {
    /// Messages of `size` bytes of `content`, starting at one of `offsets`
    /// offsets (at most [`OFFSETS`]).
    pub fn new(size: usize, content: Content, offsets: usize) -> Self {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let mut bytes = Vec::with_capacity(size + offsets + 256);
        while bytes.len() < size + offsets {
            match content {
                Content::Json => json_record(&mut rng, &mut bytes),
                _ => bytes.extend_from_slice(&rng.next().to_le_bytes()),
            }
        }
        if matches!(content, Content::Printable | Content::Line) {
            // Printable ASCII only, so never '\n'.
            bytes.iter_mut().for_each(|b| *b = b'!' + *b % 94);
        }
        Pattern { bytes, size, line: content == Content::Line, offsets }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Bytes of a message before its '\n' (all of it without --line).
    fn body(&self) -> usize {
        if self.line {
            self.size - 1
        } else {
            self.size
        }
    }

    /// A random message start.
    pub fn pick(&self, rng: &mut Rng) -> usize {
        (rng.next() % self.offsets as u64) as usize
    }

    /// Appends the message starting at `offset` to `out`.
    pub fn write(&self, offset: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.bytes[offset..offset + self.body()]);
        if self.line {
            out.push(b'\n');
        }
    }

    /// Whether `chunk` is what the message starting at `offset` holds from
    /// its byte `pos` on (the chunk must not run past the message's end).
    pub fn matches(&self, offset: usize, pos: usize, chunk: &[u8]) -> bool {
        let end = pos + chunk.len();
        debug_assert!(end <= self.size);
        let body = self.body();
        let in_body = end.min(body).saturating_sub(pos);
        if chunk[..in_body] != self.bytes[offset + pos..offset + pos + in_body] {
            return false;
        }
        // With --line, the one byte after the body is the '\n'.
        chunk[in_body..].iter().all(|&b| b == b'\n')
    }
}

/// Appends one JSON object with random values, as an API would send it.
fn json_record(rng: &mut Rng, out: &mut Vec<u8>) {
    const WORDS: [&str; 8] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
    let r = rng.next();
    let word = |shift: u32| WORDS[(r >> shift) as usize % WORDS.len()];
    let record = format!(
        "{{\"id\":{},\"user\":\"user{:05}\",\"active\":{},\"score\":{}.{:03},\"tags\":[\"{}\",\"{}\"],\"status\":\"{}\"}},",
        r % 1_000_000,
        (r >> 20) % 100_000,
        (r >> 40) & 1 == 1,
        (r >> 41) % 100,
        (r >> 48) % 1000,
        word(8),
        word(11),
        word(14),
    );
    out.extend_from_slice(record.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_themselves_in_any_split() {
        for line in [false, true] {
            let p = Pattern::new(10, if line { Content::Line } else { Content::Binary }, OFFSETS);
            let mut rng = Rng(7);
            let (a, b) = (p.pick(&mut rng), p.pick(&mut rng));
            assert_ne!(a, b);
            let mut msg = Vec::new();
            p.write(a, &mut msg);
            assert_eq!(msg.len(), 10);
            assert_eq!(msg.ends_with(b"\n"), line);
            assert!(!line || !msg[..9].contains(&b'\n'));
            for split in 0..=10 {
                assert!(p.matches(a, 0, &msg[..split]));
                assert!(p.matches(a, split, &msg[split..]));
            }
            assert!(!p.matches(b, 0, &msg), "another message's bytes");
            let mut bad = msg.clone();
            bad[9] ^= 1;
            assert!(!p.matches(a, 0, &bad), "the last byte is checked too");
        }
    }

    #[test]
    fn text_content_is_ascii() {
        for content in [Content::Printable, Content::Json] {
            let p = Pattern::new(100, content, 64);
            let mut rng = Rng(3);
            let mut msg = Vec::new();
            p.write(p.pick(&mut rng), &mut msg);
            assert_eq!(msg.len(), 100);
            assert!(msg.iter().all(|b| b.is_ascii_graphic()), "{content:?}");
            assert!(p.pick(&mut rng) < 64);
        }
    }
}
