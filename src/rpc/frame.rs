//! LSP-style framing: `Content-Length: N\r\n\r\n` followed by N bytes of UTF-8 JSON.
//!
//! Limits keep a hostile or broken peer from making us allocate without bound:
//! a header block longer than `MAX_HEADER_BYTES` or a body over the reader's
//! `max_body` is a protocol error that closes the connection.

use std::ops::Range;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Longest header block accepted, in bytes (all header lines together).
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
/// Default largest body accepted, in bytes (64 MiB: a long session's history fits).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Why reading a frame stopped.
#[derive(Debug)]
pub enum FrameError {
    /// The peer closed the stream cleanly between frames.
    Eof,
    /// The stream failed or ended inside a frame.
    Io(std::io::Error),
    /// The bytes are not a valid frame; the stream cannot be resynchronised.
    Protocol(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Eof => f.write_str("end of stream"),
            FrameError::Io(e) => write!(f, "read failed: {e}"),
            FrameError::Protocol(m) => write!(f, "protocol error: {m}"),
        }
    }
}

/// Frames read from a byte stream into one buffer, parsed in place.
///
/// Every frame of one read stays in the buffer it arrived in, so a run of
/// them (a flood of events) can be handed to another thread together with
/// `take_parsed`: one buffer per read instead of an allocation and a copy
/// per frame. Ranges returned by `next_buffered` index `buffer()` until the
/// next `fill` or `take_parsed*`.
pub struct FrameReader<R> {
    inner: R,
    /// Bytes read so far; `..parsed` are complete frames already returned.
    buf: Vec<u8>,
    parsed: usize,
    /// Header length and body length of the frame at `parsed`, once known.
    next: Option<(usize, usize)>,
    max_body: usize,
    pool: BufferPool,
}

/// Bytes asked of the stream per read (more when a frame needs it).
const READ_CHUNK_BYTES: usize = 64 * 1024;

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R, max_body: usize) -> Self {
        let pool = BufferPool::default();
        FrameReader {
            inner,
            buf: pool.take(),
            parsed: 0,
            next: None,
            max_body,
            pool,
        }
    }

    /// The bytes read so far, which the returned ranges index.
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// The body of the next complete frame already read, as a range of
    /// `buffer()`; `None` when `fill` must read more first.
    pub fn next_buffered(&mut self) -> Result<Option<Range<usize>>, FrameError> {
        let (header, body) = match self.next {
            Some(known) => known,
            None => match parse_header(&self.buf[self.parsed..], self.max_body)? {
                Some(known) => {
                    self.next = Some(known);
                    known
                }
                None => return Ok(None),
            },
        };
        let start = self.parsed + header;
        if self.buf.len() - start < body {
            return Ok(None);
        }
        self.next = None;
        self.parsed = start + body;
        Ok(Some(start..start + body))
    }

    /// Waits for more bytes. `Eof` when the stream ends between frames.
    /// Forgets the frames already returned (their ranges become invalid).
    pub async fn fill(&mut self) -> Result<(), FrameError> {
        // Keep only the unparsed rest, at the front.
        if self.parsed > 0 {
            self.buf.drain(..self.parsed);
            self.parsed = 0;
        }
        // A rare huge frame must not pin its buffer for the connection's life.
        if self.buf.capacity() > KEEP_BUFFER_BYTES && self.buf.len() <= READ_CHUNK_BYTES {
            self.buf.shrink_to(READ_CHUNK_BYTES);
        }
        let wanted = match self.next {
            Some((header, body)) => (header + body).saturating_sub(self.buf.len()),
            None => 0,
        };
        self.buf.reserve(wanted.max(READ_CHUNK_BYTES / 4));
        let n = self
            .inner
            .read_buf(&mut self.buf)
            .await
            .map_err(FrameError::Io)?;
        if n > 0 {
            Ok(())
        } else if self.buf.is_empty() {
            Err(FrameError::Eof)
        } else {
            Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()))
        }
    }

    /// Hands over the buffer holding every frame returned so far (their
    /// ranges stay valid in it) and goes on with the unparsed rest.
    pub fn take_parsed(&mut self) -> PooledBuffer {
        self.take_parsed_before(self.parsed)
    }

    /// As `take_parsed`, but the bytes from `at` on (a frame just returned,
    /// not handed over) stay here: that frame's range moves down by `at`.
    pub fn take_parsed_before(&mut self, at: usize) -> PooledBuffer {
        // A few frames in a large buffer go as a copy: a queue of mostly
        // empty read buffers would hold far more memory than its events.
        if at < self.buf.capacity() / 8 {
            let taken = self.buf[..at].to_vec();
            self.buf.drain(..at);
            self.parsed -= at;
            return PooledBuffer::unpooled(taken);
        }
        let mut rest = self.pool.take();
        rest.extend_from_slice(&self.buf[at..]);
        let mut taken = std::mem::replace(&mut self.buf, rest);
        taken.truncate(at);
        self.parsed -= at;
        self.pool.wrap(taken)
    }

    /// Reads the next frame and returns a copy of its body (for tests that
    /// take frames one at a time).
    #[cfg(test)]
    pub async fn next_frame(&mut self) -> Result<Vec<u8>, FrameError> {
        loop {
            if let Some(body) = self.next_buffered()? {
                return Ok(self.buf[body].to_vec());
            }
            self.fill().await?;
        }
    }
}

/// Parses the header block at the start of `bytes`: `(header length, body
/// length)`, or `None` if the block is not complete yet.
fn parse_header(bytes: &[u8], max_body: usize) -> Result<Option<(usize, usize)>, FrameError> {
    // What every known writer sends, read without the general path's
    // line splitting and UTF-8 checks.
    const USUAL: &[u8] = b"Content-Length: ";
    if let Some(rest) = bytes.strip_prefix(USUAL) {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if (1..=15).contains(&digits) && rest[digits..].starts_with(b"\r\n\r\n") {
            let len = rest[..digits]
                .iter()
                .fold(0usize, |n, d| n * 10 + (d - b'0') as usize);
            if len <= max_body {
                return Ok(Some((USUAL.len() + digits + 4, len)));
            }
        }
    }
    let mut content_length: Option<usize> = None;
    let mut pos = 0;
    loop {
        let Some(newline) = bytes[pos..].iter().position(|&b| b == b'\n') else {
            return if bytes.len() > MAX_HEADER_BYTES {
                Err(header_too_long())
            } else {
                Ok(None)
            };
        };
        let line = &bytes[pos..pos + newline];
        pos += newline + 1;
        if pos > MAX_HEADER_BYTES {
            return Err(header_too_long());
        }
        let text = trim_line(line);
        if text.is_empty() {
            break;
        }
        let text = std::str::from_utf8(text)
            .map_err(|_| FrameError::Protocol("header is not UTF-8".into()))?;
        let Some((name, value)) = text.split_once(':') else {
            return Err(FrameError::Protocol(format!(
                "malformed header line {text:?}"
            )));
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            let len: usize = value.trim().parse().map_err(|_| {
                FrameError::Protocol(format!("invalid Content-Length {:?}", value.trim()))
            })?;
            content_length = Some(len);
        }
    }
    let len = content_length
        .ok_or_else(|| FrameError::Protocol("frame without Content-Length header".into()))?;
    if len > max_body {
        return Err(FrameError::Protocol(format!(
            "Content-Length {len} exceeds the limit of {max_body} bytes"
        )));
    }
    Ok(Some((pos, len)))
}

fn header_too_long() -> FrameError {
    FrameError::Protocol(format!("header block longer than {MAX_HEADER_BYTES} bytes"))
}

/// Buffer capacity kept between reads after a larger frame.
const KEEP_BUFFER_BYTES: usize = 1024 * 1024;

fn trim_line(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && (line[end - 1] == b'\n' || line[end - 1] == b'\r') {
        end -= 1;
    }
    &line[..end]
}

/// Read buffers handed to another thread come back here when dropped, so a
/// steady stream of reads reuses a few warm buffers instead of allocating.
#[derive(Clone, Default)]
pub struct BufferPool(Arc<Mutex<Vec<Vec<u8>>>>);

/// Buffers kept for reuse; more in flight are freed when they come back.
const POOLED_BUFFERS: usize = 8;

impl BufferPool {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(READ_CHUNK_BYTES))
    }

    fn wrap(&self, buf: Vec<u8>) -> PooledBuffer {
        PooledBuffer {
            buf,
            pool: Some(self.clone()),
        }
    }
}

/// A read buffer that returns to its reader's pool when dropped.
pub struct PooledBuffer {
    buf: Vec<u8>,
    pool: Option<BufferPool>,
}

impl PooledBuffer {
    /// A buffer of its own, for frames that did not come from a reader.
    pub fn unpooled(buf: Vec<u8>) -> Self {
        PooledBuffer { buf, pool: None }
    }
}

impl std::ops::Deref for PooledBuffer {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf
    }
}

impl std::ops::DerefMut for PooledBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        let Some(pool) = self.pool.take() else { return };
        let mut buf = std::mem::take(&mut self.buf);
        if buf.capacity() < READ_CHUNK_BYTES || buf.capacity() > KEEP_BUFFER_BYTES {
            return;
        }
        buf.clear();
        let mut kept = pool.0.lock();
        if kept.len() < POOLED_BUFFERS {
            kept.push(buf);
        }
    }
}

impl std::fmt::Debug for PooledBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PooledBuffer({} bytes)", self.buf.len())
    }
}

/// Header and body in one buffer, so each frame goes out in a single write.
pub fn encode_frame(body: &[u8]) -> Vec<u8> {
    let header = format!("Content-Length: {}\r\n\r\n", body.len());
    let mut out = Vec::with_capacity(header.len() + body.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out
}

/// A reader for tests that hands out its input `.1` bytes per read.
#[cfg(test)]
pub(crate) struct Trickle<'a>(pub &'a [u8], pub usize);

#[cfg(test)]
impl AsyncRead for Trickle<'_> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let n = self.1.min(self.0.len()).min(buf.remaining());
        buf.put_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(input: &[u8], max: usize) -> Vec<Result<Vec<u8>, String>> {
        let mut r = FrameReader::new(input, max);
        let mut out = Vec::new();
        loop {
            match r.next_frame().await {
                Ok(b) => out.push(Ok(b)),
                Err(FrameError::Eof) => break,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    break;
                }
            }
        }
        out
    }

    #[tokio::test]
    async fn reads_consecutive_frames_and_extra_headers() {
        let mut input = encode_frame(b"{\"a\":1}");
        input.extend_from_slice(b"Content-Type: application/json\r\ncontent-length: 2\r\n\r\n{}");
        let frames = read_all(&input, 1024).await;
        assert_eq!(frames, vec![Ok(b"{\"a\":1}".to_vec()), Ok(b"{}".to_vec())]);
    }

    #[tokio::test]
    async fn rejects_oversized_body_without_allocating_it() {
        let frames = read_all(b"Content-Length: 1099511627776\r\n\r\n", 1024).await;
        assert!(frames[0]
            .as_ref()
            .unwrap_err()
            .contains("exceeds the limit"));
    }

    #[tokio::test]
    async fn rejects_missing_content_length_and_endless_headers() {
        let frames = read_all(b"X: y\r\n\r\n{}", 1024).await;
        assert!(frames[0]
            .as_ref()
            .unwrap_err()
            .contains("without Content-Length"));
        let endless = vec![b'a'; MAX_HEADER_BYTES * 2];
        let frames = read_all(&endless, 1024).await;
        assert!(frames[0]
            .as_ref()
            .unwrap_err()
            .contains("header block longer"));
    }

    #[tokio::test]
    async fn frames_split_across_reads_are_whole() {
        let mut input = Vec::new();
        let bodies: Vec<Vec<u8>> = (0..50)
            .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(i * 37)).into_bytes())
            .collect();
        for b in &bodies {
            input.extend_from_slice(&encode_frame(b));
        }
        for step in [1, 3, 7, 64, 1 << 20] {
            let mut r = FrameReader::new(Trickle(&input, step), 4096);
            for b in &bodies {
                assert_eq!(&r.next_frame().await.unwrap(), b, "step {step}");
            }
            assert!(matches!(r.next_frame().await, Err(FrameError::Eof)));
        }
    }

    #[tokio::test]
    async fn handed_over_frames_stay_valid_and_the_rest_reads_on() {
        let mut input = Vec::new();
        for i in 0..300 {
            input.extend_from_slice(&encode_frame(format!("{{\"n\":{i}}}").as_bytes()));
        }
        let mut r = FrameReader::new(&input[..], 1024);
        let mut seen = 0;
        let mut handed = Vec::new();
        while seen < 300 {
            r.fill().await.unwrap();
            let mut ranges = Vec::new();
            while let Some(body) = r.next_buffered().unwrap() {
                ranges.push(body);
            }
            // Keep the last frame of each read here, hand over the others.
            let Some(last) = ranges.pop() else { continue };
            let buf = r.take_parsed_before(last.start);
            for body in ranges {
                handed.push(buf[body].to_vec());
            }
            handed.push(r.buffer()[..last.len()].to_vec());
            seen = handed.len();
        }
        let expected: Vec<Vec<u8>> = (0..300)
            .map(|i| format!("{{\"n\":{i}}}").into_bytes())
            .collect();
        assert_eq!(handed, expected);
    }

    #[tokio::test]
    async fn truncated_body_is_an_io_error() {
        let frames = read_all(b"Content-Length: 10\r\n\r\n{}", 1024).await;
        assert!(frames[0].as_ref().unwrap_err().contains("read failed"));
    }
}
