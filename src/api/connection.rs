//! `JsonErrorIo`: the TCP connection of the HTTP server, wrapped so that the error
//! responses actix-http writes on its own also have the JSON error shape (issue 13).
//!
//! Why: a malformed request (400), request headers that are too large (431) and a
//! request head that does not arrive in time (408) are answered by actix-http's
//! dispatcher before any application code runs, always with an empty body and no
//! hook to change it. Every other error of this API is `{"detail": ...}`, and the
//! OpenAPI document says so.
//!
//! What it does: a response head written on the connection whose status is 400, 408
//! or 431 and whose `content-length` is 0 (the application never sends such an empty
//! error: its errors carry a JSON body) is replaced by the same status with a JSON
//! body and `connection: close`. Every other byte passes through unchanged.
//!
//! Invariant: the wrapper reports every byte the dispatcher handed it as written
//! only once its replacement is buffered, and flushes that buffer before any further
//! write, flush or shutdown, so nothing is reordered or lost.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The statuses actix-http answers by itself, and what the client is told.
const FRAMEWORK_ERRORS: [(&str, &str); 3] = [
    ("400", "Malformed HTTP request"),
    ("408", "The request head did not arrive in time"),
    ("431", "The request headers are too large"),
];

/// A connection whose framework error responses get a JSON body.
pub struct JsonErrorIo<T> {
    inner: T,
    /// Replacement bytes not yet written to `inner`.
    pending: Vec<u8>,
}

impl<T> JsonErrorIo<T> {
    pub fn new(inner: T) -> Self {
        JsonErrorIo {
            inner,
            pending: Vec::new(),
        }
    }
}

/// The JSON replacement of `buf` when it starts with an empty framework error
/// response: the new bytes (including whatever followed the head in `buf`).
fn replacement(buf: &[u8]) -> Option<Vec<u8>> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    let (version, status) = (parts.next()?, parts.next()?);
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let (_, detail) = FRAMEWORK_ERRORS.iter().find(|(s, _)| *s == status)?;
    let mut empty = false;
    let mut kept = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => empty = value.trim() == "0",
            "connection" | "content-type" => {}
            _ => kept.push(line),
        }
    }
    if !empty {
        return None;
    }
    let body = serde_json::json!({ "detail": detail }).to_string();
    let mut out = format!(
        "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for line in kept {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&body);
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&buf[head_end..]);
    Some(bytes)
}

impl<T: AsyncWrite + Unpin> JsonErrorIo<T> {
    /// Writes out `pending`; `Ready(Ok)` once it is empty.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.pending) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.pending.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrorIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrorIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Err(e) = std::task::ready!(this.poll_pending(cx)) {
            return Poll::Ready(Err(e));
        }
        if let Some(bytes) = replacement(buf) {
            this.pending = bytes;
            // Best effort now; the rest goes out before anything else.
            if let Poll::Ready(Err(e)) = this.poll_pending(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(e) = std::task::ready!(this.poll_pending(cx)) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(e) = std::task::ready!(this.poll_pending(cx)) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_framework_errors_get_a_json_body() {
        let raw = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\ndate: Thu, 03 Dec 2026 08:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(replacement(raw).expect("replaced")).expect("utf-8");
        let (head, body) = out.split_once("\r\n\r\n").expect("head and body");
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("content-type: application/json"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        assert!(head.contains("connection: close"));
        assert!(head.contains("date: Thu, 03 Dec 2026"));
        let body: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(body["detail"], "The request headers are too large");
    }

    #[test]
    fn application_responses_pass_unchanged() {
        for raw in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 21\r\ncontent-type: application/json\r\n\r\n{\"detail\":\"x\"}"[..],
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            &b"{\"detail\": \"HTTP/1.1 400 \"}"[..],
            &b"HTTP/1.1 400 Bad Request\r\ncontent-len"[..],
        ] {
            assert!(replacement(raw).is_none(), "{}", String::from_utf8_lossy(raw));
        }
    }
}
