//! Guest stdout and stderr, captured line by line into the execution log
//! (and so under the same byte budget as the `log` capability).

use crate::capabilities::log::{LogLevel, LogSource, SharedLog};
use bytes::Bytes;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// A `StdoutStream` for the WASI context: every stream it hands out writes
/// into the shared execution log.
pub struct GuestOutput {
    log: SharedLog,
    source: LogSource,
}

impl GuestOutput {
    pub fn stdout(log: SharedLog) -> Self {
        Self {
            log,
            source: LogSource::Stdout,
        }
    }

    pub fn stderr(log: SharedLog) -> Self {
        Self {
            log,
            source: LogSource::Stderr,
        }
    }

    fn writer(&self) -> LineWriter {
        LineWriter {
            log: self.log.clone(),
            source: self.source,
            level: match self.source {
                LogSource::Stderr => LogLevel::Warn,
                _ => LogLevel::Info,
            },
            pending: Vec::new(),
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.writer())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.writer())
    }
}

/// Splits written bytes into lines; a partial last line is kept until the
/// next newline, a flush, or the end of the execution (drop).
struct LineWriter {
    log: SharedLog,
    source: LogSource,
    level: LogLevel,
    pending: Vec<u8>,
}

/// A line longer than this is emitted in pieces, so a guest writing without
/// newlines cannot grow `pending` without bound.
const MAX_PENDING: usize = 16 * 1024;

impl LineWriter {
    fn accept(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        let mut lines = Vec::new();
        while let Some(pos) = self.pending.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.pending.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            lines.push(line);
        }
        if self.pending.len() > MAX_PENDING {
            lines.push(std::mem::take(&mut self.pending));
        }
        if !lines.is_empty() {
            let mut log = self.log.lock().expect("execution log lock poisoned");
            for line in lines {
                log.push(self.level, self.source, &String::from_utf8_lossy(&line));
            }
        }
    }

    fn emit_pending(&mut self) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.log.lock().expect("execution log lock poisoned").push(
                self.level,
                self.source,
                &String::from_utf8_lossy(&line),
            );
        }
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        self.emit_pending();
    }
}

impl OutputStream for LineWriter {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.accept(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[async_trait::async_trait]
impl Pollable for LineWriter {
    async fn ready(&mut self) {}
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.accept(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.emit_pending();
        Poll::Ready(Ok(()))
    }
}
