//! Response heads, for the client: parsed with `httparse` into spans over
//! the caller's bytes, and how the body after them is delimited. Interim
//! (`1xx`) heads are parsed like any other; the framer skips them.

use super::head::{list_items, parse_length, Span};

/// Limits a response is held to, and what the framer must know of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseLimits {
    /// Bytes of status line and headers.
    pub max_head: usize,
    /// Bytes of body (decoded from chunks, before any content coding is undone).
    pub max_body: u64,
    /// The request was `HEAD`: the response has no body, whatever its headers say.
    pub head_request: bool,
}

impl Default for ResponseLimits {
    fn default() -> Self {
        ResponseLimits { max_head: 64 * 1024, max_body: 100 * 1024 * 1024, head_request: false }
    }
}

/// Why a response is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseError {
    /// Not an HTTP/1.x response: a bad status line or header, a bad `Content-Length`, broken chunking.
    Malformed,
    /// The head or the body is larger than its limit.
    TooLarge,
    /// The connection ended before the body did.
    Truncated,
}

/// How a response's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseBody {
    /// None (a `HEAD` request, `1xx`, `204`, `304`, or `Content-Length: 0`).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// The `chunked` transfer coding.
    Chunked,
    /// Everything until the server closes the connection.
    ToEnd,
}

/// A parsed response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Bytes of the head, up to and including the blank line.
    pub length: usize,
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: Span,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Name and value of each header line, in order.
    pub headers: Vec<(Span, Span)>,
    /// How the body is delimited.
    pub body: ResponseBody,
    /// The connection may carry another request after this response (not after `101`, nor a body ended by the close).
    pub keep_alive: bool,
}

/// Headers parsed on the stack before falling back to a heap array sized by the limit.
const STACK_HEADERS: usize = 64;

/// Parses the response head at the start of `bytes`. `Ok(None)`: incomplete so far.
pub fn parse_response_head(bytes: &[u8], limits: &ResponseLimits) -> Result<Option<ResponseHead>, ResponseError> {
    let mut on_stack = [httparse::EMPTY_HEADER; STACK_HEADERS];
    match parse_with(bytes, limits, &mut on_stack) {
        Err(httparse::Error::TooManyHeaders) => {
            let mut on_heap = vec![httparse::EMPTY_HEADER; limits.max_head / 4 + 1];
            parse_with(bytes, limits, &mut on_heap).unwrap_or_else(|error| Err(refusal(error)))
        }
        Err(error) => Err(refusal(error)),
        Ok(judged) => judged,
    }
}

fn refusal(error: httparse::Error) -> ResponseError {
    match error {
        httparse::Error::TooManyHeaders => ResponseError::TooLarge,
        _ => ResponseError::Malformed,
    }
}

fn parse_with<'b>(
    bytes: &'b [u8],
    limits: &ResponseLimits,
    headers: &mut [httparse::Header<'b>],
) -> Result<Result<Option<ResponseHead>, ResponseError>, httparse::Error> {
    let mut response = httparse::Response::new(headers);
    let length = match response.parse(bytes)? {
        httparse::Status::Partial if bytes.len() >= limits.max_head => return Ok(Err(ResponseError::TooLarge)),
        httparse::Status::Partial => return Ok(Ok(None)),
        httparse::Status::Complete(length) => length,
    };
    if length > limits.max_head {
        return Ok(Err(ResponseError::TooLarge));
    }
    Ok(judge(&response, &bytes[..length], limits).map(Some))
}

fn judge(response: &httparse::Response, head: &[u8], limits: &ResponseLimits) -> Result<ResponseHead, ResponseError> {
    let (Some(status), Some(reason), Some(minor_version)) = (response.code, response.reason, response.version) else {
        return Err(ResponseError::Malformed);
    };
    if !(100..=999).contains(&status) {
        return Err(ResponseError::Malformed);
    }
    let mut close = false;
    let mut keep_alive = false;
    let mut chunked_last = None;
    let mut length: Option<u64> = None;
    for header in response.headers.iter() {
        let is = |known: &str| header.name.eq_ignore_ascii_case(known);
        if is("content-length") {
            for item in list_items(header.value) {
                let value = parse_length(item).ok_or(ResponseError::Malformed)?;
                if length.is_some_and(|seen| seen != value) {
                    return Err(ResponseError::Malformed);
                }
                length = Some(value);
            }
        } else if is("transfer-encoding") {
            if let Some(last) = list_items(header.value).last() {
                chunked_last = Some(last.eq_ignore_ascii_case(b"chunked"));
            }
        } else if is("connection") {
            for token in list_items(header.value) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    let no_body = limits.head_request || (100..200).contains(&status) || status == 204 || status == 304;
    let body = match (no_body, chunked_last, length) {
        (true, _, _) => ResponseBody::Empty,
        // Transfer-Encoding overrides Content-Length (RFC 9112 6.3).
        (false, Some(true), _) => ResponseBody::Chunked,
        (false, Some(false), _) => ResponseBody::ToEnd,
        (false, None, Some(0)) => ResponseBody::Empty,
        (false, None, Some(bytes)) if bytes > limits.max_body => return Err(ResponseError::TooLarge),
        (false, None, Some(bytes)) => ResponseBody::Length(bytes),
        (false, None, None) => ResponseBody::ToEnd,
    };
    Ok(ResponseHead {
        length: head.len(),
        status,
        reason: span_of(reason.as_bytes(), head),
        minor_version,
        headers: response.headers.iter().map(|h| (span_of(h.name.as_bytes(), head), span_of(h.value, head))).collect(),
        body,
        // After `101` the connection speaks another protocol: never back to a pool.
        keep_alive: !close && (minor_version == 1 || keep_alive) && body != ResponseBody::ToEnd && status != 101,
    })
}

/// The span of `part`, a subslice of `whole` (httparse hands out subslices).
fn span_of(part: &[u8], whole: &[u8]) -> Span {
    if part.is_empty() {
        return Span::default();
    }
    let start = part.as_ptr() as usize - whole.as_ptr() as usize;
    Span { start: start as u32, len: part.len() as u32 }
}
