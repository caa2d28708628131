//! The owned list: every live task of a runtime, so shutdown can cancel each one.
//!
//! Sharded by task id to keep spawns on different workers from contending on one lock.
//! Each shard is an intrusive doubly-linked list threaded through the task headers
//! (`Header::owned_links`), so binding and removing a task are O(1) and allocate nothing:
//! a listed task costs the runtime two pointers in its own header, not a slab entry.
//!
//! # Rules (task rule 9 builds on them; cited by the code and the loom model
//! `owned_list_bind_and_remove_race_shutdown` in `loom.rs`)
//!
//! 1. **The shard lock owns the links.** A task's `owned_links`, and the shard's `head`,
//!    are read and written only under the lock of the shard the task's id maps to.
//! 2. **The list holds a reference.** A linked task carries one reference owned by the
//!    list (task rule 1); unlinking hands it back, as a `Task`, to whoever unlinked it. So a
//!    linked header is always alive, and following `prev`/`next` under the lock is sound.
//! 3. **Linked means reachable from `head`.** A task is linked iff it is the head or its
//!    `prev` is set; unlinking clears both links. `remove` of a task that shutdown already
//!    drained finds it unlinked and returns `None`.
//! 4. **Closing.** `close_and_shutdown_all` sets `closed`, then locks every shard in turn
//!    and drains it. `bind` checks `closed` under the shard lock: a bind that locked a shard
//!    before the drain is drained with it; one that locked it after sees `closed` (the lock
//!    orders it after the store) and refuses, cancelling the task on the spot.

use std::ptr::NonNull;

use super::core::{Header, Notified, OwnedLinks, Task};
use super::join::task_state;
use super::{TaskInfo, new_task};
use crate::sync::{AtomicBool, Mutex, Ordering};

pub(crate) struct OwnedTasks {
    shards: Box<[Mutex<Shard>]>,
    closed: AtomicBool,
}

struct Shard {
    head: Option<NonNull<Header>>,
    len: usize,
    /// Tasks ever bound to this shard (metrics).
    spawned: u64,
}

// SAFETY: the raw pointers are to task headers whose references the list owns (rule 2); a
// task is `Send` (its future and output are), and the shard is only reached under its lock.
unsafe impl Send for Shard {}

/// Reads a linked header's links. Caller holds the shard lock (rule 1) and the task is
/// alive (rule 2).
fn links(task: NonNull<Header>) -> OwnedLinks {
    // SAFETY: the list's reference keeps a linked header alive (rule 2); a task being
    // bound or removed is kept alive by the caller's reference.
    let header = unsafe { task.as_ref() };
    // SAFETY: the caller holds the shard lock, which owns the links (rule 1).
    header.owned_links.with(|links| unsafe { *links })
}

/// Writes a linked header's links; same contract as [`links`].
fn set_links(task: NonNull<Header>, new: OwnedLinks) {
    // SAFETY: alive, as in `links` (rule 2).
    let header = unsafe { task.as_ref() };
    // SAFETY: the caller holds the shard lock, which owns the links (rule 1).
    header.owned_links.with_mut(|links| unsafe { *links = new })
}

impl Shard {
    /// Links `task` at the front, taking over its reference (rule 2). Under the lock.
    fn push_front(&mut self, task: Task) {
        let ptr = task.ptr();
        std::mem::forget(task);
        set_links(
            ptr,
            OwnedLinks {
                prev: None,
                next: self.head,
            },
        );
        if let Some(old) = self.head {
            set_links(
                old,
                OwnedLinks {
                    prev: Some(ptr),
                    ..links(old)
                },
            );
        }
        self.head = Some(ptr);
        self.len += 1;
    }

    /// Unlinks `ptr` if it is linked (rule 3), returning the list's reference. Under the lock.
    fn remove(&mut self, ptr: NonNull<Header>) -> Option<Task> {
        let OwnedLinks { prev, next } = links(ptr);
        if prev.is_none() && self.head != Some(ptr) {
            return None;
        }
        match prev {
            Some(prev) => set_links(
                prev,
                OwnedLinks {
                    next,
                    ..links(prev)
                },
            ),
            None => self.head = next,
        }
        if let Some(next) = next {
            set_links(
                next,
                OwnedLinks {
                    prev,
                    ..links(next)
                },
            );
        }
        set_links(ptr, OwnedLinks::UNLINKED);
        self.len -= 1;
        // SAFETY: the list owned this reference while the task was linked (rule 2).
        Some(unsafe { Task::from_raw(super::core::RawTask::from_ptr(ptr)) })
    }

    /// Unlinks every task, handing back the list's references. Under the lock.
    fn drain(&mut self) -> Vec<Task> {
        let mut tasks = Vec::with_capacity(self.len);
        while let Some(head) = self.head {
            tasks.push(self.remove(head).expect("the head is linked"));
        }
        tasks
    }

    fn iter(&self) -> impl Iterator<Item = NonNull<Header>> + '_ {
        std::iter::successors(self.head, |&task| links(task).next)
    }
}

impl OwnedTasks {
    pub(crate) fn new(workers: usize) -> OwnedTasks {
        // Under loom, one shard: task ids come from a process-wide counter, so the shard a
        // task lands in would differ between the executions of a model.
        let shards = if cfg!(loom) {
            1
        } else {
            (workers * 4).next_power_of_two().max(4)
        };
        OwnedTasks {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Shard {
                        head: None,
                        len: 0,
                        spawned: 0,
                    })
                })
                .collect(),
            closed: AtomicBool::new(false),
        }
    }

    fn shard(&self, task: &Task) -> &Mutex<Shard> {
        &self.shards[task.id().as_u64() as usize & (self.shards.len() - 1)]
    }

    /// Adds a new task. Returns its first run-queue entry, or `None` if the list is closed,
    /// in which case the task has been cancelled (its `JoinHandle` reports it; rule 4).
    pub(crate) fn bind(&self, task: Task, notified: Notified) -> Option<Notified> {
        let mut shard = self.shard(&task).lock();
        if self.closed.load(Ordering::Acquire) {
            drop(shard);
            drop(notified);
            task.shutdown();
            return None;
        }
        shard.spawned += 1;
        shard.push_front(task);
        Some(notified)
    }

    /// Removes a completed task, returning the list's reference (None if shutdown took it).
    pub(crate) fn remove(&self, task: &Task) -> Option<Task> {
        self.shard(task).lock().remove(task.ptr())
    }

    /// Closes the list and cancels every task in it (rule 4, task rule 9). Tasks bound later
    /// are cancelled by `bind`.
    pub(crate) fn close_and_shutdown_all(&self) {
        self.closed.store(true, Ordering::Release);
        for shard in self.shards.iter() {
            // Take the tasks out under the lock, cancel them outside it: a future's
            // destructor may spawn or complete other tasks, which lock shards too.
            let tasks = shard.lock().drain();
            for task in tasks {
                task.shutdown();
            }
        }
    }

    /// Whether shutdown closed the list: spawns are refused from then on.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len).sum()
    }

    pub(crate) fn spawned(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().spawned).sum()
    }

    pub(crate) fn snapshot(&self) -> Vec<TaskInfo> {
        let mut infos = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.lock();
            infos.extend(shard.iter().map(|task| {
                // SAFETY: linked, under the shard lock: alive (rule 2).
                let header = unsafe { task.as_ref() };
                TaskInfo {
                    id: header.id(),
                    name: header.name().map(str::to_owned),
                    state: task_state(header.state.load()),
                }
            }));
        }
        infos.sort_by_key(|info| info.id);
        infos
    }
}

/// Allocates a task for `scheduler`, binds it to `owned` and schedules it (if the list was
/// open; otherwise it is already cancelled). Both schedulers spawn through here.
pub(crate) fn spawn_into<S, F>(
    owned: &OwnedTasks,
    scheduler: &crate::sync::StdArc<S>,
    future: F,
    meta: Option<super::TaskMeta>,
) -> super::JoinHandle<F::Output>
where
    S: super::Schedule,
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (task, notified, raw) = new_task(future, scheduler.clone(), super::Id::next(), meta, true);
    let join = super::JoinHandle::new(raw);
    let task = task.expect("listed tasks get an owned-list reference");
    if let Some(notified) = owned.bind(task, notified) {
        S::schedule(scheduler, notified, false);
    }
    join
}
