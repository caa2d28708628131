//! The field: Spindle and its two peers, built side by side in one flavour, and a way to run
//! a workload on any of them by name. `compare` and the criterion benches both go through it.

use crate::rt::{Flavor, Rt, Smol, Spindle, Tokio};
use crate::workloads::{Sample, Sizes, Workload};

/// One of the runtimes compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contender {
    /// [`Spindle`]
    Spindle,
    /// [`Tokio`]
    Tokio,
    /// [`Smol`]
    Smol,
}

impl Contender {
    /// All three, in column order; the index is [`Contender::index`].
    pub const ALL: [Contender; 3] = [Contender::Spindle, Contender::Tokio, Contender::Smol];

    /// The runtimes Spindle is measured against.
    pub const PEERS: [Contender; 2] = [Contender::Tokio, Contender::Smol];

    /// The runtime's [`Rt::NAME`].
    pub fn name(self) -> &'static str {
        match self {
            Contender::Spindle => Spindle::NAME,
            Contender::Tokio => Tokio::NAME,
            Contender::Smol => Smol::NAME,
        }
    }

    /// Position in [`Contender::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The three runtimes of one flavour, built once and reused by every workload (building a
/// runtime is not what is measured).
#[derive(Debug)]
pub struct Field {
    flavor: Flavor,
    spindle: Spindle,
    tokio: Tokio,
    smol: Smol,
}

impl Field {
    /// All three runtimes of `flavor`; multi-thread ones get `workers` threads each.
    pub fn new(flavor: Flavor, workers: usize) -> Field {
        Field {
            flavor,
            spindle: Spindle::new(flavor, workers),
            tokio: Tokio::new(flavor, workers),
            smol: Smol::new(flavor, workers),
        }
    }

    /// The flavour of all three.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// One run of `workload` on `who`.
    pub fn run(&self, who: Contender, workload: &Workload, sizes: &Sizes) -> Sample {
        match who {
            Contender::Spindle => (workload.spindle)(&self.spindle, sizes),
            Contender::Tokio => (workload.tokio)(&self.tokio, sizes),
            Contender::Smol => (workload.smol)(&self.smol, sizes),
        }
    }
}

/// The order the runtimes run in, in `round` of the `nth` workload: rotated by one each
/// round and each workload, so that none always goes first (on a cooler machine, or right
/// after a peer that left the caches cold), even with a single round.
pub fn order(nth: usize, round: usize) -> [Contender; 3] {
    let mut order = Contender::ALL;
    order.rotate_left((nth + round) % Contender::ALL.len());
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_contender_goes_first_in_turn() {
        let firsts: Vec<_> = (0..4).map(|round| order(0, round)[0]).collect();
        assert_eq!(
            firsts,
            [
                Contender::Spindle,
                Contender::Tokio,
                Contender::Smol,
                Contender::Spindle
            ]
        );
        assert_eq!(order(1, 0)[0], Contender::Tokio);
    }
}
