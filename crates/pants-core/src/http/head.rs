//! Request heads: parsed with `httparse` into spans over the caller's bytes,
//! then judged by the rules of API-HTTP.md. Every way a head can be refused
//! is a [`HeadError`] with the status the server answers it with.

use std::ops::Range;

/// Where a piece of the head lies in the parsed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Offset from the start of the head.
    pub start: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Span {
    /// The byte range, for slicing the head.
    pub fn range(self) -> Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }

    fn of(part: &[u8], whole: &[u8]) -> Span {
        // httparse hands out subslices of `whole`: their offset is the pointer difference.
        let start = part.as_ptr() as usize - whole.as_ptr() as usize;
        Span { start: start as u32, len: part.len() as u32 }
    }
}

/// Why a request head is refused; [`HeadError::status`] is the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// A malformed request line or header, a bare CR or LF, a folded header,
    /// a missing or repeated `Host`, or an ambiguous body length
    /// (`Content-Length` repeated or beside `Transfer-Encoding`): `400`.
    Malformed,
    /// An HTTP version other than 1.0 and 1.1: `505`.
    Version,
    /// A head larger than the limit: `431`.
    TooLarge,
    /// A `Content-Length` above the body limit: `413`.
    BodyTooLarge,
    /// A transfer coding other than `chunked`: `501`.
    UnsupportedCoding,
    /// An `Expect` other than `100-continue`: `417`.
    Expectation,
}

impl HeadError {
    /// The status code the server answers with (and then closes).
    pub fn status(self) -> u16 {
        match self {
            HeadError::Malformed => 400,
            HeadError::Version => 505,
            HeadError::TooLarge => 431,
            HeadError::BodyTooLarge => 413,
            HeadError::UnsupportedCoding => 501,
            HeadError::Expectation => 417,
        }
    }
}

/// How the body after a head is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// No body (no `Content-Length`, or `Content-Length: 0`).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// The `chunked` transfer coding.
    Chunked,
}

/// A request head that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// Bytes of the head, up to and including the blank line.
    pub length: usize,
    /// The method token.
    pub method: Span,
    /// The request target, as sent.
    pub target: Span,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Name and value of each header line, in order; values without surrounding whitespace.
    pub headers: Vec<(Span, Span)>,
    /// How the body is delimited.
    pub body: BodyLength,
    /// The connection may carry another request after this one.
    pub keep_alive: bool,
    /// `Expect: 100-continue` (HTTP/1.1): the client waits for `100 Continue` before the body.
    pub expect_continue: bool,
    /// `Connection: upgrade` with an `Upgrade` header.
    pub upgrade: bool,
}

/// Limits a head is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Bytes of request line and headers (`maxHeaderSize`).
    pub max_head: usize,
    /// Bytes of body (`maxRequest`), checked against `Content-Length`.
    pub max_body: u64,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits { max_head: 16 * 1024, max_body: 10 * 1024 * 1024 }
    }
}

/// Headers parsed on the stack before falling back to a heap array sized by the limit.
const STACK_HEADERS: usize = 64;
/// The shortest header line, `a:` and CRLF: no head within the limit has more lines than `max_head / 4`.
const SHORTEST_HEADER_LINE: usize = 4;

/// Parses the request head at the start of `bytes`. `Ok(None)`: incomplete so
/// far (more bytes may complete it). Leading blank lines are skipped, as RFC
/// 9112 asks, and count in the head's length.
pub fn parse_request_head(bytes: &[u8], limits: &HeadLimits) -> Result<Option<RequestHead>, HeadError> {
    let mut on_stack = [httparse::EMPTY_HEADER; STACK_HEADERS];
    match parse_with(bytes, limits, &mut on_stack) {
        Err(httparse::Error::TooManyHeaders) => {
            let mut on_heap = vec![httparse::EMPTY_HEADER; limits.max_head / SHORTEST_HEADER_LINE + 1];
            parse_with(bytes, limits, &mut on_heap).unwrap_or_else(|error| Err(refusal(error, bytes)))
        }
        Err(error) => Err(refusal(error, bytes)),
        Ok(judged) => judged,
    }
}

/// One httparse attempt; `Err` only for httparse's own errors, judged by the caller.
fn parse_with<'b>(
    bytes: &'b [u8],
    limits: &HeadLimits,
    headers: &mut [httparse::Header<'b>],
) -> Result<Result<Option<RequestHead>, HeadError>, httparse::Error> {
    let mut request = httparse::Request::new(headers);
    let length = match request.parse(bytes)? {
        httparse::Status::Partial if bytes.len() >= limits.max_head => return Ok(Err(HeadError::TooLarge)),
        httparse::Status::Partial => return Ok(Ok(None)),
        httparse::Status::Complete(length) => length,
    };
    if length > limits.max_head {
        return Ok(Err(HeadError::TooLarge));
    }
    Ok(judge(&request, &bytes[..length], limits))
}

/// What an httparse error means for the client.
fn refusal(error: httparse::Error, bytes: &[u8]) -> HeadError {
    match error {
        httparse::Error::Version if names_a_version(bytes) => HeadError::Version,
        httparse::Error::TooManyHeaders => HeadError::TooLarge,
        _ => HeadError::Malformed,
    }
}

/// True when the request line's third word has the shape `HTTP/<digits>.<digits>`
/// (a version we do not speak, `505`) rather than being garbage (`400`).
fn names_a_version(bytes: &[u8]) -> bool {
    let line = bytes.split(|&b| b == b'\r' || b == b'\n').find(|line| !line.is_empty()).unwrap_or(&[]);
    let Some(version) = line.split(|&b| b == b' ').nth(2) else { return false };
    let Some(number) = version.strip_prefix(b"HTTP/") else { return false };
    let mut parts = number.splitn(2, |&b| b == b'.');
    let digits = |part: Option<&[u8]>| part.is_some_and(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit));
    digits(parts.next()) && digits(parts.next())
}

/// The checks httparse leaves to its caller.
fn judge(request: &httparse::Request, head: &[u8], limits: &HeadLimits) -> Result<Option<RequestHead>, HeadError> {
    if has_bare_line_break(head) {
        return Err(HeadError::Malformed);
    }
    let (Some(method), Some(target), Some(minor_version)) = (request.method, request.path, request.version) else {
        return Err(HeadError::Malformed);
    };
    let mut facts = HeaderFacts::default();
    for header in request.headers.iter() {
        facts.note(header.name, header.value)?;
    }
    // HTTP/1.1 requires exactly one Host; HTTP/1.0 at most one.
    if (minor_version == 1 && facts.hosts != 1) || facts.hosts > 1 {
        return Err(HeadError::Malformed);
    }
    let body = facts.body_length(minor_version, limits)?;
    let keep_alive = !facts.close && (minor_version == 1 || facts.keep_alive);
    Ok(Some(RequestHead {
        length: head.len(),
        method: Span::of(method.as_bytes(), head),
        target: Span::of(target.as_bytes(), head),
        minor_version,
        headers: request.headers.iter().map(|h| (Span::of(h.name.as_bytes(), head), Span::of(h.value, head))).collect(),
        body,
        keep_alive,
        expect_continue: minor_version == 1 && facts.expect_continue,
        upgrade: facts.upgrade_token && facts.upgrade_header,
    }))
}

/// A LF not after a CR, or a CR not before a LF: lines that another parser
/// might split differently (request smuggling), refused outright.
fn has_bare_line_break(head: &[u8]) -> bool {
    memchr::memchr2_iter(b'\r', b'\n', head).any(|at| match head[at] {
        b'\n' => at == 0 || head[at - 1] != b'\r',
        _ => head.get(at + 1) != Some(&b'\n'),
    })
}

/// What the headers say about framing and the connection.
#[derive(Default)]
struct HeaderFacts<'b> {
    hosts: usize,
    content_length: Option<&'b [u8]>,
    content_lengths: usize,
    /// The transfer codings of every `Transfer-Encoding` line, in order.
    codings: Vec<&'b [u8]>,
    transfer_encoding: bool,
    close: bool,
    keep_alive: bool,
    upgrade_token: bool,
    upgrade_header: bool,
    expect_continue: bool,
    expect_other: bool,
}

impl<'b> HeaderFacts<'b> {
    fn note(&mut self, name: &str, value: &'b [u8]) -> Result<(), HeadError> {
        let is = |known: &str| name.eq_ignore_ascii_case(known);
        if is("host") {
            self.hosts += 1;
        } else if is("content-length") {
            self.content_lengths += 1;
            self.content_length = Some(value);
        } else if is("transfer-encoding") {
            self.transfer_encoding = true;
            self.codings.extend(list_items(value));
        } else if is("connection") {
            for token in list_items(value) {
                self.close |= token.eq_ignore_ascii_case(b"close");
                self.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                self.upgrade_token |= token.eq_ignore_ascii_case(b"upgrade");
            }
        } else if is("upgrade") {
            self.upgrade_header = true;
        } else if is("expect") {
            if value.eq_ignore_ascii_case(b"100-continue") {
                self.expect_continue = true;
            } else {
                self.expect_other = true;
            }
        }
        Ok(())
    }

    fn body_length(&self, minor_version: u8, limits: &HeadLimits) -> Result<BodyLength, HeadError> {
        if self.expect_other {
            return Err(HeadError::Expectation);
        }
        if self.transfer_encoding {
            // Both framings, or chunked from an HTTP/1.0 client: which one a
            // proxy in front believed is unknowable (RFC 9112 6.1, 6.3).
            if self.content_lengths > 0 || minor_version == 0 || self.codings.is_empty() {
                return Err(HeadError::Malformed);
            }
            if self.codings.iter().any(|coding| !coding.eq_ignore_ascii_case(b"chunked")) {
                return Err(HeadError::UnsupportedCoding);
            }
            return if self.codings.len() == 1 { Ok(BodyLength::Chunked) } else { Err(HeadError::Malformed) };
        }
        match (self.content_lengths, self.content_length) {
            (0, _) => Ok(BodyLength::Empty),
            (1, Some(value)) => match parse_length(value) {
                None => Err(HeadError::Malformed),
                Some(0) => Ok(BodyLength::Empty),
                Some(length) if length > limits.max_body => Err(HeadError::BodyTooLarge),
                Some(length) => Ok(BodyLength::Length(length)),
            },
            _ => Err(HeadError::Malformed),
        }
    }
}

/// The items of a comma-separated header value, without surrounding whitespace; empty items skipped.
pub(super) fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(|item| item.trim_ascii()).filter(|item| !item.is_empty())
}

/// `1*DIGIT`, and small enough to count bytes with; anything else (a sign, a
/// list, spaces inside) is `None`.
pub(super) fn parse_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0u64, |n, &digit| n * 10 + u64::from(digit - b'0')))
}
