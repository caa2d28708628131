//! The keyspace: keys to strings, hashes or lists, each with an optional deadline.
//!
//! Expiry is lazy and active, like Redis's: every lookup first drops its key if the deadline
//! has passed (so a reader never sees an expired value), and the server's sweeper task calls
//! [`Db::purge_expired`] so keys nobody reads again do not stay in memory. The deadlines are
//! also kept in an ordered index, so a sweep touches only keys that are due.

use std::collections::{BTreeSet, HashMap, VecDeque};

use spindle::time::Instant;

/// A hash's fields and values.
pub type Hash = HashMap<Vec<u8>, Vec<u8>>;

/// A key's value.
#[derive(Debug)]
pub enum Data {
    Str(Vec<u8>),
    Hash(Hash),
    List(VecDeque<Vec<u8>>),
}

#[derive(Debug)]
struct Entry {
    data: Data,
    deadline: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct Db {
    entries: HashMap<Vec<u8>, Entry>,
    /// Every key that has a deadline, soonest first.
    deadlines: BTreeSet<(Instant, Vec<u8>)>,
}

impl Db {
    /// The live value of `key`, dropping it first if it has expired.
    pub fn get(&mut self, key: &[u8], now: Instant) -> Option<&Data> {
        self.expire_if_due(key, now);
        self.entries.get(key).map(|entry| &entry.data)
    }

    pub fn get_mut(&mut self, key: &[u8], now: Instant) -> Option<&mut Data> {
        self.expire_if_due(key, now);
        self.entries.get_mut(key).map(|entry| &mut entry.data)
    }

    pub fn contains(&mut self, key: &[u8], now: Instant) -> bool {
        self.get(key, now).is_some()
    }

    /// Stores `data` under `key` with `deadline`, replacing any value and deadline it had.
    pub fn insert(&mut self, key: &[u8], data: Data, deadline: Option<Instant>) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.data = data;
        } else {
            self.entries.insert(
                key.to_vec(),
                Entry {
                    data,
                    deadline: None,
                },
            );
        }
        self.set_deadline(key, deadline);
    }

    /// Removes `key`; whether it was there (and live).
    pub fn remove(&mut self, key: &[u8], now: Instant) -> bool {
        self.expire_if_due(key, now);
        match self.entries.remove(key) {
            Some(entry) => {
                if let Some(at) = entry.deadline {
                    self.deadlines.remove(&(at, key.to_vec()));
                }
                true
            }
            None => false,
        }
    }

    /// The deadline of a live key: `None` if the key does not exist, `Some(None)` if it
    /// never expires.
    pub fn deadline(&mut self, key: &[u8], now: Instant) -> Option<Option<Instant>> {
        self.expire_if_due(key, now);
        self.entries.get(key).map(|entry| entry.deadline)
    }

    /// Sets or clears the deadline of an existing key (no-op if it does not exist).
    pub fn set_deadline(&mut self, key: &[u8], deadline: Option<Instant>) {
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        if entry.deadline == deadline {
            return;
        }
        if let Some(old) = entry.deadline {
            self.deadlines.remove(&(old, key.to_vec()));
        }
        if let Some(new) = deadline {
            self.deadlines.insert((new, key.to_vec()));
        }
        entry.deadline = deadline;
    }

    /// Drops up to `max` keys whose deadline has passed; how many it dropped. The cap keeps
    /// one sweep (which holds the lock) short; the next sweep carries on.
    pub fn purge_expired(&mut self, now: Instant, max: usize) -> usize {
        let mut purged = 0;
        while purged < max {
            match self.deadlines.first() {
                Some((at, _)) if *at <= now => {}
                _ => break,
            }
            let (_, key) = self.deadlines.pop_first().expect("just looked at it");
            self.entries.remove(&key);
            purged += 1;
        }
        purged
    }

    /// The soonest deadline of any key.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// Keys held, counting expired ones not yet purged (as Redis's DBSIZE does).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.deadlines.clear();
    }

    fn expire_if_due(&mut self, key: &[u8], now: Instant) {
        let due = matches!(
            self.entries.get(key),
            Some(Entry { deadline: Some(at), .. }) if *at <= now
        );
        if due {
            let entry = self.entries.remove(key).expect("just looked at it");
            let at = entry.deadline.expect("due keys have a deadline");
            self.deadlines.remove(&(at, key.to_vec()));
        }
    }
}
