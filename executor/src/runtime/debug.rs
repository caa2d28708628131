//! asyncio's debug mode: polls that hold a worker too long, and panics nobody awaited.
//!
//! asyncio warns when a callback runs longer than `loop.slow_callback_duration` and when a
//! task's exception was never retrieved (`PYTHONASYNCIODEBUG=1`). Spindle reports the same
//! two things to hooks set on the runtime's `Builder`:
//!
//! - a poll that took longer than `slow_poll_threshold` ([`SlowPoll`]): usually a blocking
//!   call made on a worker by mistake, which stalls every task queued behind it;
//! - a task that panicked after its `JoinHandle` was dropped, or whose handle was dropped
//!   without reading the panic ([`UnobservedPanic`]): nobody else will ever see it.
//!
//! Each report names the task (id, name) and where it was spawned. The default hooks print
//! one line to stderr; `SPINDLE_DEBUG=1` in the environment turns both reports on with a
//! 100 ms threshold. When neither is on, a task records no spawn location and its polls are
//! not timed: the only cost is a test of a field the poll reads anyway.

use std::fmt;
use std::panic::Location;
use std::time::Duration;

use crate::sync::StdArc as Arc;
use crate::task::Id;

/// The threshold `SPINDLE_DEBUG=1` sets.
pub(crate) const DEFAULT_SLOW_POLL_THRESHOLD: Duration = Duration::from_millis(100);

/// A poll that took longer than the runtime's `slow_poll_threshold`.
#[derive(Debug)]
pub struct SlowPoll<'a> {
    pub(crate) id: Id,
    pub(crate) name: Option<&'a str>,
    pub(crate) duration: Duration,
    pub(crate) threshold: Duration,
    pub(crate) spawned_at: &'static Location<'static>,
}

impl SlowPoll<'_> {
    /// The task that was polled.
    pub fn id(&self) -> Id {
        self.id
    }

    /// Its name, if it was spawned with `task::Builder::name`.
    pub fn name(&self) -> Option<&str> {
        self.name
    }

    /// How long the poll took.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The threshold it exceeded.
    pub fn threshold(&self) -> Duration {
        self.threshold
    }

    /// Where the task was spawned.
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.spawned_at
    }
}

impl fmt::Display for SlowPoll<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_task(f, self.id, self.name)?;
        write!(
            f,
            " (spawned at {}) was polled for {:.1?}, longer than the {:?} threshold: \
             a blocking call on the runtime? Run it with spawn_blocking",
            self.spawned_at, self.duration, self.threshold
        )
    }
}

/// A task's panic that no `JoinHandle` will ever report.
#[derive(Debug)]
pub struct UnobservedPanic<'a> {
    pub(crate) id: Id,
    pub(crate) name: Option<&'a str>,
    pub(crate) message: Option<&'a str>,
    pub(crate) spawned_at: &'static Location<'static>,
}

impl UnobservedPanic<'_> {
    /// The task that panicked.
    pub fn id(&self) -> Id {
        self.id
    }

    /// Its name, if it was spawned with `task::Builder::name`.
    pub fn name(&self) -> Option<&str> {
        self.name
    }

    /// The panic message, if the payload was a string.
    pub fn message(&self) -> Option<&str> {
        self.message
    }

    /// Where the task was spawned.
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.spawned_at
    }
}

impl fmt::Display for UnobservedPanic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_task(f, self.id, self.name)?;
        write!(
            f,
            " (spawned at {}) panicked and nobody awaited it",
            self.spawned_at
        )?;
        match self.message {
            Some(message) => write!(f, ": {message}"),
            None => Ok(()),
        }
    }
}

fn write_task(f: &mut fmt::Formatter<'_>, id: Id, name: Option<&str>) -> fmt::Result {
    write!(f, "task {id}")?;
    match name {
        Some(name) => write!(f, " '{name}'"),
        None => Ok(()),
    }
}

pub(crate) type SlowPollHook = Arc<dyn Fn(&SlowPoll<'_>) + Send + Sync>;
pub(crate) type UnobservedPanicHook = Arc<dyn Fn(&UnobservedPanic<'_>) + Send + Sync>;

/// What the runtime reports, and to whom. Present only when at least one report is on.
pub(crate) struct DebugHooks {
    pub(crate) slow_poll: Option<(Duration, SlowPollHook)>,
    pub(crate) unobserved_panic: Option<UnobservedPanicHook>,
}

impl DebugHooks {
    /// Combines the builder's settings with `SPINDLE_DEBUG`; `None` when nothing is on.
    pub(crate) fn new(
        threshold: Option<Duration>,
        on_slow_poll: Option<SlowPollHook>,
        on_unobserved_panic: Option<UnobservedPanicHook>,
    ) -> Option<Arc<DebugHooks>> {
        let env = env_debug();
        let threshold = threshold
            .or_else(|| {
                on_slow_poll
                    .is_some()
                    .then_some(DEFAULT_SLOW_POLL_THRESHOLD)
            })
            .or_else(|| env.then_some(DEFAULT_SLOW_POLL_THRESHOLD));
        let slow_poll = threshold.map(|threshold| {
            let hook =
                on_slow_poll.unwrap_or_else(|| Arc::new(|report| eprintln!("spindle: {report}")));
            (threshold, hook)
        });
        let unobserved_panic = on_unobserved_panic.or_else(|| {
            env.then(|| {
                Arc::new(|report: &UnobservedPanic<'_>| eprintln!("spindle: {report}"))
                    as UnobservedPanicHook
            })
        });
        if slow_poll.is_none() && unobserved_panic.is_none() {
            return None;
        }
        Some(Arc::new(DebugHooks {
            slow_poll,
            unobserved_panic,
        }))
    }

    /// Calls the slow-poll hook if `duration` is over the threshold. Hooks are user code:
    /// a panicking one must not take the worker down.
    pub(crate) fn poll_took(
        &self,
        id: Id,
        name: Option<&str>,
        spawned_at: &'static Location<'static>,
        duration: Duration,
    ) {
        let Some((threshold, hook)) = &self.slow_poll else {
            return;
        };
        if duration < *threshold {
            return;
        }
        let report = SlowPoll {
            id,
            name,
            duration,
            threshold: *threshold,
            spawned_at,
        };
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&report)));
    }

    /// The same hooks without slow-poll reports: a blocking closure's one poll is slow by
    /// design.
    pub(crate) fn for_blocking(&self) -> Option<Arc<DebugHooks>> {
        self.unobserved_panic.as_ref().map(|hook| {
            Arc::new(DebugHooks {
                slow_poll: None,
                unobserved_panic: Some(hook.clone()),
            })
        })
    }

    /// Calls the unobserved-panic hook, containing a panic of its own.
    pub(crate) fn unobserved_panic(&self, report: &UnobservedPanic<'_>) {
        if let Some(hook) = &self.unobserved_panic {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(report)));
        }
    }
}

impl fmt::Debug for DebugHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DebugHooks")
            .field(
                "slow_poll_threshold",
                &self.slow_poll.as_ref().map(|(t, _)| t),
            )
            .field("unobserved_panic", &self.unobserved_panic.is_some())
            .finish()
    }
}

/// `SPINDLE_DEBUG` set to anything but empty or `0`.
fn env_debug() -> bool {
    std::env::var_os("SPINDLE_DEBUG").is_some_and(|v| !v.is_empty() && v != "0")
}
