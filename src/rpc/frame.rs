//! LSP-style framing: `Content-Length: N\r\n\r\n` followed by N bytes of UTF-8 JSON.
//!
//! Limits keep a hostile or broken peer from making us allocate without bound:
//! a header block longer than `MAX_HEADER_BYTES` or a body over the reader's
//! `max_body` is a protocol error that closes the connection.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

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

/// Reads one frame body from `reader`. `line` is a scratch buffer reused across calls.
pub async fn read_frame<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    max_body: usize,
) -> Result<Vec<u8>, FrameError> {
    let mut body = Vec::new();
    read_frame_into(reader, line, &mut body, max_body).await?;
    Ok(body)
}

/// As `read_frame`, into `body` (its buffer is reused across frames).
pub async fn read_frame_into<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    body: &mut Vec<u8>,
    max_body: usize,
) -> Result<(), FrameError> {
    let mut content_length: Option<usize> = None;
    let mut header_bytes = 0usize;
    let mut first = true;
    loop {
        line.clear();
        let n = (&mut *reader)
            .take((MAX_HEADER_BYTES - header_bytes + 1) as u64)
            .read_until(b'\n', line)
            .await
            .map_err(FrameError::Io)?;
        if n == 0 {
            return if first && header_bytes == 0 {
                Err(FrameError::Eof)
            } else {
                Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()))
            };
        }
        first = false;
        header_bytes += n;
        if header_bytes > MAX_HEADER_BYTES || line.last() != Some(&b'\n') {
            return Err(FrameError::Protocol(format!(
                "header block longer than {MAX_HEADER_BYTES} bytes"
            )));
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
    body.clear();
    body.resize(len, 0);
    reader.read_exact(body).await.map_err(FrameError::Io)?;
    // A rare huge frame must not pin its buffer for the connection's life.
    if body.capacity() > KEEP_BODY_CAPACITY && len <= KEEP_BODY_CAPACITY {
        body.shrink_to(KEEP_BODY_CAPACITY);
    }
    Ok(())
}

/// Body buffer capacity kept between frames.
const KEEP_BODY_CAPACITY: usize = 1024 * 1024;

fn trim_line(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && (line[end - 1] == b'\n' || line[end - 1] == b'\r') {
        end -= 1;
    }
    &line[..end]
}

/// Header and body in one buffer, so each frame goes out in a single write.
pub fn encode_frame(body: &[u8]) -> Vec<u8> {
    let header = format!("Content-Length: {}\r\n\r\n", body.len());
    let mut out = Vec::with_capacity(header.len() + body.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    async fn read_all(input: &[u8], max: usize) -> Vec<Result<Vec<u8>, String>> {
        let mut r = BufReader::new(input);
        let mut line = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_frame(&mut r, &mut line, max).await {
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
    async fn truncated_body_is_an_io_error() {
        let frames = read_all(b"Content-Length: 10\r\n\r\n{}", 1024).await;
        assert!(frames[0].as_ref().unwrap_err().contains("read failed"));
    }
}
