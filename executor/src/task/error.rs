//! `JoinError`: why a task gave no output (cancelled, or panicked with a payload), naming
//! the task in its message.

use std::any::Any;
use std::fmt;
use std::io;

use super::id::Id;

/// Why a task produced no output: it was cancelled, or it panicked.
pub struct JoinError(Box<Inner>);

/// Boxed so that `Result<T, JoinError>`, which every task cell has room for, costs one
/// pointer beside `T` rather than five words: failures are rare, cells are many.
struct Inner {
    id: Id,
    name: Option<Box<str>>,
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panic(SyncPayload),
}

/// A panic payload made `Sync` by never handing out `&` access to it.
struct SyncPayload(Box<dyn Any + Send + 'static>);

// SAFETY: the payload is only ever reached by value (`into_panic`) or through `&mut self`;
// no `&` to it is shared between threads, so `Send` is enough.
unsafe impl Sync for SyncPayload {}

impl JoinError {
    pub(crate) fn cancelled(id: Id, name: Option<Box<str>>) -> JoinError {
        JoinError(Box::new(Inner {
            id,
            name,
            repr: Repr::Cancelled,
        }))
    }

    pub(crate) fn panic(id: Id, name: Option<Box<str>>, payload: Box<dyn Any + Send>) -> JoinError {
        JoinError(Box::new(Inner {
            id,
            name,
            repr: Repr::Panic(SyncPayload(payload)),
        }))
    }

    /// The task was aborted, or dropped by runtime shutdown.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.0.repr, Repr::Cancelled)
    }

    /// The task panicked (while polled, or while its future was dropped).
    pub fn is_panic(&self) -> bool {
        matches!(self.0.repr, Repr::Panic(_))
    }

    /// The panic payload, to resume the panic with `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// Panics if the error is not a panic.
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a task that was cancelled, not panicked")
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        if !self.is_panic() {
            return Err(self);
        }
        match self.0.repr {
            Repr::Panic(payload) => Ok(payload.0),
            Repr::Cancelled => unreachable!("checked above"),
        }
    }

    /// The id of the task that failed.
    pub fn id(&self) -> Id {
        self.0.id
    }

    /// The task's name, if it was given one with `task::Builder::name`.
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    pub(crate) fn panic_message(&self) -> Option<&str> {
        let Repr::Panic(payload) = &self.0.repr else {
            return None;
        };
        let payload = &payload.0;
        payload
            .downcast_ref::<&'static str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
    }

    fn fmt_task(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.0.id)?;
        if let Some(name) = &self.0.name {
            write!(f, " ({name:?})")?;
        }
        Ok(())
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_task(f)?;
        match (&self.0.repr, self.panic_message()) {
            (Repr::Cancelled, _) => write!(f, " was cancelled"),
            (Repr::Panic(_), Some(msg)) => write!(f, " panicked with message {msg:?}"),
            (Repr::Panic(_), None) => write!(f, " panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.0.repr, self.panic_message()) {
            (Repr::Cancelled, _) => write!(f, "JoinError::Cancelled({})", self.0.id),
            (Repr::Panic(_), Some(msg)) => {
                write!(f, "JoinError::Panic({}, {msg:?}, ...)", self.0.id)
            }
            (Repr::Panic(_), None) => write!(f, "JoinError::Panic({}, ...)", self.0.id),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(err: JoinError) -> io::Error {
        io::Error::other(err.to_string())
    }
}
