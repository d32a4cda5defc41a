//! A connection's byte stream as the listener sees it: reads fail past the header or idle
//! timeout, writes past the idle timeout, and the first byte of a request marks its head
//! under way.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::ConnectionLimits;
use super::connections::{ConnectionState, Phase};

/// Which deadline a connection's reads run against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadDeadline {
    /// None: handling a request (the router bounds the body).
    Off,
    /// The idle timeout, while waiting for request number `served + 1`.
    Idle(u64),
    /// The header timeout of request number `served + 1`.
    Head(u64),
}

/// A connection's byte stream, failing reads that wait past the header or idle timeout and
/// writes that wait past the idle timeout: hyper then closes the connection.
pub(super) struct WatchedIo<Io> {
    io: Io,
    state: Arc<ConnectionState>,
    limits: ConnectionLimits,
    read_deadline: ReadDeadline,
    read_timer: Pin<Box<Sleep>>,
    write_timer: Option<Pin<Box<Sleep>>>,
}

impl<Io> WatchedIo<Io> {
    pub(super) fn new(
        io: Io,
        state: Arc<ConnectionState>,
        limits: ConnectionLimits,
    ) -> WatchedIo<Io> {
        // The first request's head is due `header_timeout` after the accept.
        WatchedIo {
            io,
            state,
            limits,
            read_deadline: ReadDeadline::Head(0),
            read_timer: Box::pin(tokio::time::sleep_until(
                Instant::now() + limits.header_timeout,
            )),
            write_timer: None,
        }
    }

    /// The deadline reads run against now, armed when it changes.
    fn arm_read_deadline(&mut self) {
        let served = self.state.served.load(Ordering::Acquire);
        let wanted = match self.state.phase() {
            Phase::Busy => ReadDeadline::Off,
            // The first request's head is due from the accept, whether bytes came or not.
            Phase::Waiting | Phase::Head if served == 0 => ReadDeadline::Head(0),
            Phase::Waiting => ReadDeadline::Idle(served),
            Phase::Head => ReadDeadline::Head(served),
        };
        if wanted != self.read_deadline {
            self.read_deadline = wanted;
            let wait = match wanted {
                ReadDeadline::Off => return,
                ReadDeadline::Idle(_) => self.limits.idle_timeout,
                ReadDeadline::Head(_) => self.limits.header_timeout,
            };
            self.read_timer.as_mut().reset(Instant::now() + wait);
        }
    }

    /// Whether a write that waits has waited past the idle timeout; none while writes
    /// progress.
    fn write_stalled(&mut self, cx: &mut Context<'_>, progress: bool) -> bool {
        if progress {
            self.write_timer = None;
            return false;
        }
        let idle_timeout = self.limits.idle_timeout;
        let timer = self.write_timer.get_or_insert_with(|| {
            Box::pin(tokio::time::sleep_until(Instant::now() + idle_timeout))
        });
        timer.as_mut().poll(cx).is_ready()
    }
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what.to_string())
}

impl<Io: AsyncRead + Unpin> AsyncRead for WatchedIo<Io> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            // The first byte of a request: its head is due within the header timeout.
            if this.state.phase() == Phase::Waiting {
                this.state.set_phase(Phase::Head);
            }
        }
        this.arm_read_deadline();
        if read.is_pending() && this.read_deadline == ReadDeadline::Off {
            this.state.wake_reader_after_response(cx.waker());
        }
        if read.is_pending()
            && this.read_deadline != ReadDeadline::Off
            && this.read_timer.as_mut().poll(cx).is_ready()
        {
            let what = match this.read_deadline {
                ReadDeadline::Idle(_) => "the connection was idle past the idle timeout",
                _ => "the request's head did not arrive within the header timeout",
            };
            tracing::debug!(connection = this.state.id, "Closing: {what}.");
            return Poll::Ready(Err(timed_out(what)));
        }
        read
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for WatchedIo<Io> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write(cx, buf);
        if this.write_stalled(cx, written.is_ready()) {
            return Poll::Ready(Err(timed_out(
                "the client took no byte within the idle timeout",
            )));
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = Pin::new(&mut this.io).poll_flush(cx);
        if this.write_stalled(cx, flushed.is_ready()) {
            return Poll::Ready(Err(timed_out(
                "the client took no byte within the idle timeout",
            )));
        }
        flushed
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        if this.write_stalled(cx, written.is_ready()) {
            return Poll::Ready(Err(timed_out(
                "the client took no byte within the idle timeout",
            )));
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
