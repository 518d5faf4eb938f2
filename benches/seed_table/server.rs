//! The bench's servers, started and killed by the test support (`tests/support`): the one copy
//! of the server lookup (`FSTORE_TEST_SERVER`, else `valkey-server`, else `redis-server` from
//! `PATH`) and of a throwaway server's start (free 127.0.0.1 port, temporary directory,
//! persistence off) and kill.

use crate::support::cluster::{ClusterOptions, TestCluster};
use crate::support::{kill_every_server, TestServer};

/// The command a pinned server runs under.
const PIN: [&str; 3] = ["taskset", "-c", "0"];

fn wrapper(pinned: bool) -> &'static [&'static str] {
    if pinned {
        &PIN
    } else {
        &[]
    }
}

/// A throwaway `valkey-server` on a free port of 127.0.0.1, under `taskset -c 0` when `pinned`;
/// killed and its directory removed on drop.
pub fn start(pinned: bool) -> TestServer {
    TestServer::start_wrapped(wrapper(pinned), &[])
}

/// A throwaway Valkey Cluster of `primaries` primaries without replicas, every node under
/// `taskset -c 0` when `pinned`; killed on drop.
pub fn start_cluster(primaries: usize, pinned: bool) -> TestCluster {
    TestCluster::start_with(ClusterOptions {
        primaries,
        replicas_per_primary: 0,
        wrapper: wrapper(pinned).iter().map(|s| s.to_string()).collect(),
    })
}

/// Kills every server the bench started, without unwinding, and exits: for Ctrl-C and the
/// watchdog.
pub fn kill_all_and_exit(code: i32) -> ! {
    kill_every_server();
    std::process::exit(code);
}
