//! The outgoing side of one connection: a queue of whole frames and the one
//! writer that owns the byte stream.
//!
//! Whoever holds the writer writes; nobody else touches the stream. A frame
//! is queued whole or not at all, and once queued it is written whole even
//! if the caller that queued it gave up (timeout, cancellation): a caller
//! never leaves half a frame on the wire. When the queue is empty and the
//! writer idle, the queuing thread writes what the stream takes at once
//! without blocking (a tool answer leaves without waking the runtime); the
//! rest, and everything queued behind it, is written by the writer task.
//!
//! Memory is budgeted in bytes: callers that can wait wait for room; a frame
//! that cannot wait (a reply to the peer) over the budget means the peer has
//! stopped reading while it keeps sending, and the connection fails.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::sync::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::sync::{oneshot, Notify};

use crate::log::{log, Level};
use crate::transport::BoxWriter;

/// Frames queued at most, whatever their size.
pub const MAX_QUEUED_FRAMES: usize = 1 << 16;

/// Why a frame was not queued.
#[derive(Debug)]
pub enum Refused {
    /// The connection's writing side is gone (closed, failed, or killed).
    Closed(String),
    /// No room within the budget (only for frames that cannot wait).
    Full {
        queued_frames: usize,
        queued_bytes: usize,
        budget: usize,
    },
}

struct Frame {
    bytes: Vec<u8>,
    /// Bytes of it already on the wire (only the head can be partly written).
    written: usize,
    /// Told once the whole frame is on the wire; dropped if it never is.
    done: Option<oneshot::Sender<()>>,
}

struct State {
    queue: VecDeque<Frame>,
    /// Bytes queued or being written.
    bytes: usize,
    /// `None` while someone is writing with it, or once closed.
    writer: Option<BoxWriter>,
    /// Close the stream once the queue is drained.
    shutdown: bool,
    /// Set once no frame will be written any more.
    closed: Option<String>,
}

pub struct Outbox {
    state: Mutex<State>,
    /// Wakes the writer task: work queued, or closing.
    work: Notify,
    /// Wakes callers waiting for room.
    room: Notify,
    /// Ends a write in progress when the connection is closed.
    abort: Notify,
    budget: usize,
}

impl Outbox {
    /// A queue in front of `writer`, and the task that drains it (spawn it
    /// on the runtime; it ends once the outbox closes).
    pub fn new(
        writer: BoxWriter,
        budget: usize,
    ) -> (Arc<Outbox>, impl std::future::Future<Output = ()>) {
        let outbox = Arc::new(Outbox {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                bytes: 0,
                writer: Some(writer),
                shutdown: false,
                closed: None,
            }),
            work: Notify::new(),
            room: Notify::new(),
            abort: Notify::new(),
            budget: budget.max(1),
        });
        let task = write_loop(outbox.clone());
        (outbox, task)
    }

    /// Queues a whole frame, waiting for room; `done` fires once it is all
    /// on the wire. Cancel by dropping the future: nothing was queued then.
    pub async fn push_waiting(
        &self,
        frame: Vec<u8>,
        done: Option<oneshot::Sender<()>>,
    ) -> Result<(), Refused> {
        let mut frame = Frame {
            bytes: frame,
            written: 0,
            done,
        };
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_push(frame) {
                Ok(()) => return Ok(()),
                Err((Refused::Full { .. }, back)) => {
                    frame = back;
                    notified.await;
                }
                Err((refused, _)) => return Err(refused),
            }
        }
    }

    /// Queues a whole frame without waiting: `Full` when it does not fit.
    pub fn push_now(&self, frame: Vec<u8>) -> Result<(), Refused> {
        let frame = Frame {
            bytes: frame,
            written: 0,
            done: None,
        };
        self.try_push(frame).map_err(|(refused, _)| refused)
    }

    /// Queues `frame` unless the outbox is closed or full (then it comes
    /// back with the reason).
    fn try_push(&self, mut frame: Frame) -> Result<(), (Refused, Frame)> {
        let mut st = self.state.lock();
        if let Some(why) = &st.closed {
            return Err((Refused::Closed(why.clone()), frame));
        }
        if st.shutdown {
            return Err((Refused::Closed("the connection is closing".into()), frame));
        }
        // An empty queue takes any frame, however large: a single prompt
        // bigger than the budget still goes out.
        let over = st.bytes > 0
            && (st.bytes + frame.bytes.len() > self.budget || st.queue.len() >= MAX_QUEUED_FRAMES);
        if over {
            let refused = Refused::Full {
                queued_frames: st.queue.len(),
                queued_bytes: st.bytes,
                budget: self.budget,
            };
            return Err((refused, frame));
        }
        st.bytes += frame.bytes.len();
        // Idle writer, nothing ahead: write what the stream takes now.
        if st.queue.is_empty() {
            if let Some(mut writer) = st.writer.take() {
                drop(st);
                let result = write_now(&mut writer, &frame.bytes);
                let mut st = self.state.lock();
                match result {
                    Ok(n) if n == frame.bytes.len() => {
                        // A close meanwhile zeroed the count.
                        st.bytes = st.bytes.saturating_sub(n);
                        if let Some(done) = frame.done.take() {
                            let _ = done.send(());
                        }
                    }
                    // Closed while we wrote: the frame goes with the stream
                    // (queued now, it would never be written nor dropped).
                    Ok(_) if st.closed.is_some() => drop(frame),
                    Ok(n) => {
                        frame.written = n;
                        st.queue.push_front(frame);
                    }
                    Err(e) => {
                        drop(frame);
                        let why = format!("write to Copilot CLI failed: {e}");
                        self.fail_locked(&mut st, why.clone());
                        drop(st);
                        log!(Level::Debug, "rpc", "{why}");
                        return Ok(()); // queued; its `done` is dropped: not written
                    }
                }
                if st.closed.is_none() {
                    st.writer = Some(writer);
                }
                let wake = !st.queue.is_empty();
                drop(st);
                if wake {
                    self.work.notify_one();
                }
                return Ok(());
            }
        }
        st.queue.push_back(frame);
        drop(st);
        self.work.notify_one();
        Ok(())
    }

    /// Closes the stream once what is queued has been written. Never waits.
    pub fn shutdown(&self) {
        self.state.lock().shutdown = true;
        self.work.notify_one();
    }

    /// No more writes: queued frames are dropped (their callers learn they
    /// were not written) and the stream is closed as soon as nobody writes
    /// with it. Never waits. The first reason wins.
    pub fn close(&self, why: &str) {
        let mut st = self.state.lock();
        self.fail_locked(&mut st, why.to_string());
        let writer = st.writer.take();
        let queue = std::mem::take(&mut st.queue);
        drop(st);
        drop(queue);
        drop(writer);
        self.abort.notify_one();
    }

    /// Why no more frames are written, once that is so.
    pub fn closed_reason(&self) -> Option<String> {
        self.state.lock().closed.clone()
    }

    /// Marks the stream closed (the caller logs, once unlocked: the log
    /// handler is host code).
    fn fail_locked(&self, st: &mut State, why: String) {
        if st.closed.is_none() {
            st.closed = Some(why);
        }
        st.bytes = 0;
        self.work.notify_one();
        self.room.notify_waiters();
    }
}

/// The writer task: takes the writer whenever frames wait, writes them in
/// order, and hands the writer back between frames.
async fn write_loop(outbox: Arc<Outbox>) {
    loop {
        let notified = outbox.work.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        enum Next {
            Write(BoxWriter, Frame),
            Shutdown(Option<BoxWriter>),
            Wait,
        }
        let next = {
            let mut st = outbox.state.lock();
            if st.closed.is_some() {
                return;
            }
            match (st.queue.is_empty(), st.writer.is_some()) {
                (false, true) => {
                    let frame = st.queue.pop_front().expect("queue not empty");
                    Next::Write(st.writer.take().expect("writer present"), frame)
                }
                (true, true) if st.shutdown => {
                    let writer = st.writer.take();
                    outbox.fail_locked(&mut st, "the connection was closed".into());
                    Next::Shutdown(writer)
                }
                _ => Next::Wait,
            }
        };
        let job = match next {
            Next::Write(writer, frame) => Some((writer, frame)),
            Next::Shutdown(writer) => {
                if let Some(mut w) = writer {
                    let _ = w.shutdown().await;
                }
                return;
            }
            Next::Wait => None,
        };
        let Some((mut writer, mut frame)) = job else {
            notified.await;
            continue;
        };
        // Given up mid-write only when the connection is closed: then the
        // stream goes with it and nobody reads the torn frame.
        let write = async {
            writer.write_all(&frame.bytes[frame.written..]).await?;
            writer.flush().await
        };
        let result = tokio::select! {
            biased;
            _ = outbox.abort.notified() => return,
            r = write => r,
        };
        {
            let mut st = outbox.state.lock();
            if let Err(e) = result {
                let why = format!("write to Copilot CLI failed: {e}");
                outbox.fail_locked(&mut st, why.clone());
                drop(st);
                log!(Level::Debug, "rpc", "{why}");
                return;
            }
            st.bytes = st.bytes.saturating_sub(frame.bytes.len());
            if let Some(done) = frame.done.take() {
                let _ = done.send(());
            }
            if st.closed.is_none() {
                st.writer = Some(writer);
            }
        }
        outbox.room.notify_waiters();
    }
}

/// Writes what the writer takes without waiting (a no-op waker: what would
/// block is left to the writer task). Returns the bytes written.
fn write_now(writer: &mut BoxWriter, buf: &[u8]) -> std::io::Result<usize> {
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};
    let mut cx = Context::from_waker(Waker::noop());
    let mut written = 0;
    while written < buf.len() {
        match Pin::new(&mut **writer).poll_write(&mut cx, &buf[written..]) {
            Poll::Ready(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
            Poll::Ready(Ok(n)) => written += n,
            Poll::Ready(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(e)) => return Err(e),
            Poll::Pending => break,
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// Frames pushed while the reader is stalled, some by callers that give
    /// up (their futures dropped), all arrive whole and in order.
    #[tokio::test]
    async fn abandoned_pushes_never_tear_a_frame() {
        let (ours, mut theirs) = tokio::io::duplex(1024);
        let (outbox, task) = Outbox::new(Box::new(ours), 1 << 20);
        tokio::spawn(task);
        let mut expected = Vec::new();
        for i in 0..20u8 {
            let frame = vec![i; 10_000];
            expected.extend_from_slice(&frame);
            let (tx, rx) = oneshot::channel();
            // Each caller stops waiting at once; the frame is queued whole anyway.
            outbox.push_waiting(frame, Some(tx)).await.unwrap();
            drop(rx);
        }
        let mut got = vec![0u8; expected.len()];
        theirs.read_exact(&mut got).await.unwrap();
        assert!(got == expected, "frames torn or reordered");
    }

    /// A frame that cannot wait over the budget is refused, and one that
    /// can wait gets in once the stream drains.
    #[tokio::test]
    async fn the_budget_refuses_replies_and_holds_back_requests() {
        let (ours, mut theirs) = tokio::io::duplex(16);
        let (outbox, task) = Outbox::new(Box::new(ours), 100);
        tokio::spawn(task);
        outbox.push_now(vec![1; 90]).unwrap();
        let refused = outbox.push_now(vec![2; 20]);
        assert!(matches!(refused, Err(Refused::Full { .. })), "{refused:?}");
        let waiting = {
            let outbox = outbox.clone();
            tokio::spawn(async move { outbox.push_waiting(vec![3; 20], None).await })
        };
        let mut got = vec![0u8; 110];
        theirs.read_exact(&mut got).await.unwrap();
        waiting.await.unwrap().unwrap();
        assert_eq!(&got[..90], &[1; 90][..]);
        assert_eq!(&got[90..], &[3; 20][..]);
    }

    /// Closing drops what is queued and tells its callers it was not written.
    #[tokio::test]
    async fn close_fails_queued_frames() {
        let (ours, _theirs) = tokio::io::duplex(8);
        let (outbox, task) = Outbox::new(Box::new(ours), 1 << 20);
        tokio::spawn(task);
        let (tx, rx) = oneshot::channel();
        outbox.push_waiting(vec![0; 1000], Some(tx)).await.unwrap();
        outbox.close("killed");
        assert!(
            rx.await.is_err(),
            "a frame stuck behind a full stream was reported written"
        );
        let again = outbox.push_waiting(vec![0; 10], None).await;
        assert!(
            matches!(again, Err(Refused::Closed(ref w)) if w == "killed"),
            "{again:?}"
        );
    }
}
