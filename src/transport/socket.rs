//! The writing end of every connection: a socket written with
//! `send(MSG_NOSIGNAL)`.
//!
//! A write to a pipe or socket whose reader is gone raises SIGPIPE, whose
//! default action kills the host. The library may not change the process's
//! signal dispositions, and masking SIGPIPE on the threads that write would
//! have to cover every thread that can ever write. So the CLI's stdin is a
//! socketpair rather than a pipe (libuv gives Node children the same), and
//! every write, TCP included, goes through `send` with `MSG_NOSIGNAL`: the
//! kernel returns EPIPE and raises no signal, whichever thread writes.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::AsyncWrite;

pub struct SocketWriter {
    fd: AsyncFd<OwnedFd>,
}

impl SocketWriter {
    /// Takes over a connected stream socket (made non-blocking here). Must
    /// run inside a tokio runtime.
    pub fn new(fd: OwnedFd) -> io::Result<Self> {
        set_nonblocking(&fd)?;
        // SAFETY: an OwnedFd is open for as long as it lives and always
        // names the same descriptor; the AsyncFd owns it from here on.
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::WRITABLE) }
            .map_err(io::Error::from)?;
        Ok(SocketWriter { fd })
    }
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own; no memory is passed.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn send(fd: &OwnedFd, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for `buf.len()` bytes for the whole call.
        let n = unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

impl AsyncWrite for SocketWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|fd| send(fd.get_ref(), buf)) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Half-closes: the peer reads end of file (for the CLI: its stdin ends).
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // SAFETY: shutdown on a descriptor we own.
        let rc = unsafe { libc::shutdown(self.fd.get_ref().as_raw_fd(), libc::SHUT_WR) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            // Already gone: nothing left to close.
            if e.raw_os_error() != Some(libc::ENOTCONN) {
                return Poll::Ready(Err(e));
            }
        }
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// Writing to a socket whose reader is gone fails with EPIPE and raises
    /// no signal. SIGPIPE is blocked on this thread meanwhile, so a signal the
    /// write raised would stay pending here, where the test looks for it
    /// (Rust test binaries ignore SIGPIPE, which would hide it otherwise).
    #[tokio::test(flavor = "current_thread")]
    async fn a_write_to_a_closed_peer_is_an_error_not_a_signal() {
        // SAFETY: sigset_t is plain C data, valid all-zero.
        let (mut pipe_only, mut old) = unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
        // SAFETY: signal-set calls on local, initialised sets; the mask
        // change is this thread's alone and restored below.
        unsafe {
            libc::sigemptyset(&mut pipe_only);
            libc::sigaddset(&mut pipe_only, libc::SIGPIPE);
            libc::pthread_sigmask(libc::SIG_BLOCK, &pipe_only, &mut old);
        }
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        drop(theirs);
        let mut w = SocketWriter::new(OwnedFd::from(ours)).unwrap();
        let err = w.write_all(&[0u8; 1 << 16]).await.unwrap_err();
        // SAFETY: a zeroed local sigset_t for sigpending to fill; the old
        // mask saved above is restored on this same thread.
        let raised = unsafe {
            let mut pending = std::mem::zeroed();
            libc::sigpending(&mut pending);
            let raised = libc::sigismember(&pending, libc::SIGPIPE) == 1;
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            raised
        };
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        assert!(!raised, "the write raised SIGPIPE");
    }
}
