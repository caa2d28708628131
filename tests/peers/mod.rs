//! Real servers for the example tests. Unlike the examples, a test never skips when a server
//! is missing: it fails and says how to install it, so CI cannot pass without real peers.
//!
//! The launcher itself is `examples/common/peers.rs`, which every example that needs a peer
//! already compiles in as `example::peers`; a test crate using this module declares that
//! `example` module (loading the file a second time here would make two copies of it).
#![allow(dead_code)]

use super::example::peers as imp;

pub use imp::Peer;

fn must(peer: Result<Peer, imp::PeerError>) -> Peer {
    peer.unwrap_or_else(|err| {
        panic!("this test needs a real server and will not skip: {err} (scripts/install-peers.sh)")
    })
}

/// A `redis-server` on a free loopback port, killed on drop.
pub fn redis() -> Peer {
    must(imp::redis())
}

/// A throwaway `mariadbd` on a free loopback port, killed (and its data dir removed) on drop.
pub fn mariadb() -> Peer {
    must(imp::mariadb())
}
