//! The owned list: every live task of a runtime, so shutdown can cancel each one.
//!
//! Sharded by task id to keep spawns on different workers from contending on one lock.
//! Each shard is a slab; a task remembers its slot index (in `Header::owned_slot`, touched
//! only under the shard's lock), so removal is O(1).
//!
//! Closing protocol: `close` sets `closed`, then locks every shard in turn and drains it.
//! `bind` checks `closed` under the shard lock. A bind that locked a shard before `close`
//! did is drained with it; one that locked it after sees `closed` (the lock orders it after
//! the store) and refuses.

use slab::Slab;

use super::core::{Notified, Task};
use super::join::task_state;
use super::{TaskInfo, new_task};
use crate::sync::{AtomicBool, Mutex, Ordering};

pub(crate) struct OwnedTasks {
    shards: Box<[Mutex<Shard>]>,
    closed: AtomicBool,
}

#[derive(Default)]
struct Shard {
    tasks: Slab<Task>,
    /// Tasks ever bound to this shard (metrics).
    spawned: u64,
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
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
            closed: AtomicBool::new(false),
        }
    }

    fn shard(&self, task: &Task) -> &Mutex<Shard> {
        &self.shards[task.id().as_u64() as usize & (self.shards.len() - 1)]
    }

    /// Adds a new task. Returns its first run-queue entry, or `None` if the list is closed,
    /// in which case the task has been cancelled (its `JoinHandle` reports it).
    pub(crate) fn bind(&self, task: Task, notified: Notified) -> Option<Notified> {
        let mut shard = self.shard(&task).lock();
        if self.closed.load(Ordering::Acquire) {
            drop(shard);
            drop(notified);
            task.shutdown();
            return None;
        }
        shard.spawned += 1;
        let index = shard.tasks.insert(task);
        let slot = &shard.tasks[index].header().owned_slot;
        // SAFETY: `owned_slot` is only accessed under this shard's lock, which we hold.
        slot.with_mut(|slot| unsafe { *slot = index });
        Some(notified)
    }

    /// Removes a completed task, returning the list's reference (None if shutdown took it).
    pub(crate) fn remove(&self, task: &Task) -> Option<Task> {
        let mut shard = self.shard(task).lock();
        // SAFETY: under the shard's lock (see `bind`).
        let index = task.header().owned_slot.with(|slot| unsafe { *slot });
        match shard.tasks.get(index) {
            Some(t) if t.raw() == task.raw() => Some(shard.tasks.remove(index)),
            _ => None,
        }
    }

    /// Closes the list and cancels every task in it (rule 9). Tasks bound later are
    /// cancelled by `bind`.
    pub(crate) fn close_and_shutdown_all(&self) {
        self.closed.store(true, Ordering::Release);
        for shard in self.shards.iter() {
            // Take the tasks out under the lock, cancel them outside it: a future's
            // destructor may spawn or complete other tasks, which lock shards too.
            let tasks: Vec<Task> = shard.lock().tasks.drain().collect();
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
        self.shards.iter().map(|s| s.lock().tasks.len()).sum()
    }

    pub(crate) fn spawned(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().spawned).sum()
    }

    pub(crate) fn snapshot(&self) -> Vec<TaskInfo> {
        let mut infos = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard.lock();
            infos.extend(shard.tasks.iter().map(|(_, task)| {
                let header = task.header();
                TaskInfo {
                    id: header.id,
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
    meta: Option<Box<super::TaskMeta>>,
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
        scheduler.schedule(notified, false);
    }
    join
}
