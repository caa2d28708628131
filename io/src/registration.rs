//! A source's registration with the reactor: its slot plus the way back to the poller.

use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use polling::{Event, PollMode};
use spindle_executor::coop;

use crate::driver::Handle;
use crate::slot::{Direction, READABLE, ReadyEvent, Slot, WRITABLE, Waiter};
use crate::sync::Arc;

pub(crate) struct Registration {
    handle: Handle,
    slot: Arc<Slot>,
    fd: RawFd,
}

impl Registration {
    /// Registers `fd` with `handle`'s poller, for both directions.
    ///
    /// # Safety
    ///
    /// `fd` must stay open until [`Registration::deregister`] has returned (rule 8).
    pub(crate) unsafe fn new(fd: BorrowedFd<'_>, handle: Handle) -> io::Result<Self> {
        let slot = handle.inner.table.insert()?;
        // SAFETY: the caller keeps `fd` open until `deregister`, which deletes it from the
        // poller before the fd can be closed (rule 8).
        let added = unsafe {
            handle.inner.poller.add_with_mode(
                fd.as_raw_fd(),
                Event::all(slot.key()),
                handle.inner.mode,
            )
        };
        if let Err(err) = added {
            handle.inner.table.remove(&slot);
            return Err(err);
        }
        Ok(Registration {
            handle,
            slot,
            fd: fd.as_raw_fd(),
        })
    }

    fn borrowed_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `new`'s contract keeps the fd open for as long as the registration is live
        // (rule 8), and every caller of this method runs before `deregister` returns.
        unsafe { BorrowedFd::borrow_raw(self.fd) }
    }

    /// Removes the source from the poller, then its slot (rule 8). Call exactly once, before
    /// closing the fd.
    pub(crate) fn deregister(&self) -> io::Result<()> {
        let deleted = self.handle.inner.poller.delete(self.borrowed_fd());
        self.handle.inner.table.remove(&self.slot);
        deleted
    }

    /// Rule 9: re-arms a oneshot registration for `interest`. Edge mode needs nothing.
    fn arm(&self, interest: usize) -> io::Result<()> {
        if self.handle.inner.mode == PollMode::Edge || interest == 0 {
            return Ok(());
        }
        let event = Event::new(
            self.slot.key(),
            interest & READABLE != 0,
            interest & WRITABLE != 0,
        );
        self.handle
            .inner
            .poller
            .modify_with_mode(self.borrowed_fd(), event, self.handle.inner.mode)
    }

    /// Readiness through the direction's poll slot (one waker: the last caller's).
    pub(crate) fn poll_ready(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<ReadyEvent>> {
        self.slot
            .poll_ready(direction, cx, Waiter::PollSlot, |interest| {
                self.arm(interest)
            })
    }

    /// Runs `op` once the direction is ready, retrying after `WouldBlock` (rule 4), spending
    /// one unit of the task's coop budget first.
    pub(crate) fn poll_io<R>(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_hinted(direction, cx, || op().map(|r| (r, false)))
    }

    /// [`poll_io`](Self::poll_io) for an `op` that also says whether it drained the source
    /// (`true`: the kernel said nothing is left), which clears readiness at once (rule 10)
    /// and spares the next operation a system call that would get `WouldBlock`.
    pub(crate) fn poll_io_hinted<R>(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<(R, bool)>,
    ) -> Poll<io::Result<R>> {
        ready!(coop::poll_proceed(cx));
        loop {
            let event = ready!(self.poll_ready(direction, cx))?;
            match op() {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.slot.clear_readiness(event)
                }
                Ok((result, drained)) => {
                    if drained {
                        self.slot.clear_drained(event);
                    }
                    return Poll::Ready(Ok(result));
                }
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }

    /// A future for readiness that keeps its own waiter entry, so any number can wait.
    pub(crate) fn readiness(&self, direction: Direction) -> Readiness<'_> {
        Readiness {
            registration: self,
            direction,
            entry: None,
            budget_spent: false,
        }
    }

    /// `poll_io` as an async fn, for any number of concurrent callers.
    pub(crate) async fn async_io<R>(
        &self,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let event = self.readiness(direction).await?;
            match op() {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.slot.clear_readiness(event)
                }
                result => return result,
            }
        }
    }
}

/// Waits for one direction's readiness, as one entry of the slot's waiter list (rule 5).
pub(crate) struct Readiness<'a> {
    registration: &'a Registration,
    direction: Direction,
    entry: Option<usize>,
    budget_spent: bool,
}

impl Future for Readiness<'_> {
    type Output = io::Result<ReadyEvent>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if !this.budget_spent {
            ready!(coop::poll_proceed(cx));
            this.budget_spent = true;
        }
        let registration = this.registration;
        registration.slot.poll_ready(
            this.direction,
            cx,
            Waiter::Entry(&mut this.entry),
            |interest| registration.arm(interest),
        )
    }
}

impl Drop for Readiness<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.entry.take() {
            self.registration.slot.remove_waiter(self.direction, key);
        }
    }
}
