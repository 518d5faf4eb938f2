//! The seed's latency table, measured: fstore's typed API side by side with a hand-written
//! redis-rs client doing the same commands, in the same process, on the same server; then the
//! dynamic API against the typed API, the two `float_list` encodings against each other,
//! real-time aggregations (a read against a typed read, `record_batch` against
//! `valkey-benchmark`, memory per entity), and a Valkey Cluster of three primaries against one
//! server.
//!
//! ```text
//! cargo bench --bench seed_table                 # Markdown on stdout, progress on stderr
//! cargo bench --bench seed_table -- --json       # the same figures as JSON
//! cargo bench --bench seed_table -- --no-pin     # do not pin client and server to CPU 0
//! VALKEY_URL=redis://host:port cargo bench --bench seed_table   # an existing server
//! ```
//!
//! Without `VALKEY_URL` it starts its own `valkey-server` (`FSTORE_TEST_SERVER`, else
//! `valkey-server`, else `redis-server` from `PATH`) on a free 127.0.0.1 port with persistence
//! off, and kills it on exit, panic or Ctrl-C: the test support's servers (`tests/support`,
//! included below), so that the lookup and a throwaway server's start and kill exist once. By
//! default the server runs under `taskset -c 0` and the bench pins itself to CPU 0 as well. On a
//! `VALKEY_URL` server it writes the keys
//! `fs:v1:{user_profile,user_risk_profile,user_activity}:bench_*`, which expire within an hour,
//! and the aggregation rows' `fs:v1:bench_txn:{bench_agg_*}*` and `bench_agg_raw:*`, which they
//! delete when done.
//! The cluster rows always start their own cluster (3 primaries, no replicas) and their own
//! single server, pinned like the main one.
//!
//! `cargo test --all-targets` runs this bench's `main` too, without the `--bench` argument that
//! `cargo bench` passes: it then makes a quick smoke run (own servers, unpinned, 20 iterations per
//! row, no throughput or memory sections; the aggregation rows on 20 entities, their memory row
//! after 1 h of events instead of 24 h, `valkey-benchmark -n 2000`) so that the bench code is
//! exercised in CI.
//!
//! The hand-written side is what a competent engineer writes directly against redis-rs (`hand`).
//! Both sides send the same commands, which is checked once per row, as are the decoded values
//! (`honesty`).
//!
//! Modules, in the order a run uses them: `settings`, `pinning`, `server`, `views`, `data`,
//! `hand`, `honesty`, `measurement`, `table` (the latency table), `dynamic`, `encodings` (the
//! `float_list` encodings, json against f32le), `aggregations` (real-time aggregations: read
//! against a typed read, `record_batch` against `valkey-benchmark`, memory per entity), `cluster`,
//! `allocator` and `allocations` (allocations and memory), `throughput`, `report`.

use std::time::{Duration, Instant};

use fstore::Store;
use redis::aio::MultiplexedConnection;

/// Progress and notes go to stderr; results to stdout.
macro_rules! note {
    ($($t:tt)*) => { eprintln!("seed_table: {}", format_args!($($t)*)) };
}

#[path = "../../tests/support/mod.rs"]
mod support;

mod aggregations;
mod allocations;
mod allocator;
mod cluster;
mod data;
mod dynamic;
mod encodings;
mod hand;
mod honesty;
mod measurement;
mod pinning;
mod report;
mod server;
mod settings;
mod table;
mod throughput;
mod views;

use data::{load, Data};
use report::{json, markdown, Report};
use settings::{Mode, Settings};

/// Kills our servers and exits on Ctrl-C, and after `limit` in any case: the bench never hangs
/// and never leaves a server behind.
fn guard_thread(limit: Duration) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("signal runtime");
        rt.block_on(async {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {
                    note!("interrupted: stopping the servers");
                    server::kill_all_and_exit(130);
                }
                () = tokio::time::sleep(limit) => {
                    note!("still running after {limit:?}: giving up");
                    server::kill_all_and_exit(1);
                }
            }
        });
    });
}

async fn server_version(conn: &mut MultiplexedConnection) -> String {
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(conn)
        .await
        .unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
    };
    match (field("valkey_version:"), field("redis_version:")) {
        (Some(v), _) => format!("valkey {v}"),
        (None, Some(v)) => format!("redis {v}"),
        _ => "unknown version".into(),
    }
}

fn main() {
    let settings = Settings::from_args();
    // Before any thread exists, so that every thread inherits the affinity.
    let (pinned, pinning) = pinning::pin_self(&settings);
    note!("{:?} run; {pinning}", settings.mode);
    guard_thread(settings.watchdog);

    let external = std::env::var("VALKEY_URL").ok().filter(|u| !u.is_empty());
    let external = match (settings.mode, external) {
        (Mode::Smoke, Some(_)) => {
            note!("smoke run: ignoring VALKEY_URL, starting a throwaway server");
            None
        }
        (_, url) => url,
    };
    let server = match &external {
        Some(url) => {
            note!("using VALKEY_URL={url} (not started or pinned by the bench)");
            None
        }
        None => {
            let s = server::start(pinned);
            note!(
                "started {} on {}{}",
                support::server_binary(),
                s.url(),
                if pinned { " under taskset -c 0" } else { "" }
            );
            Some(s)
        }
    };
    let url = external.unwrap_or_else(|| server.as_ref().map(|s| s.url()).unwrap_or_default());

    let data = Data::new(settings.users);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (version, rows, dynamic, encodings, aggregations, allocs, memory) = rt.block_on(async {
        let store = Store::connect(&url).await.expect("fstore cannot connect");
        let conn = redis::Client::open(url.as_str())
            .expect("url")
            .get_multiplexed_async_connection()
            .await
            .expect("redis-rs cannot connect");
        let version = server_version(&mut conn.clone()).await;
        note!(
            "server: {version}; loading {} users into 3 views",
            settings.users
        );
        let t = Instant::now();
        load(&store, &data).await;
        note!("loaded in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
        let rows = table::latency_rows(&settings, &store, &conn, &data).await;
        note!("the dynamic API against the typed API");
        let dynamic = dynamic::dynamic_rows(&settings, &store, &data).await;
        note!("the json list encoding against f32le");
        let encodings = encodings::encoding_rows(&settings, &store, &url).await;
        note!("real-time aggregations");
        let aggregations =
            aggregations::aggregation_rows(&settings, &store, &conn, &data, &url, pinned).await;
        note!("allocations per call");
        let allocs = allocations::alloc_rows(&settings, &store, &conn, &data).await;
        let memory = if settings.memory_ids > 0 {
            note!("peak memory of read_batch over {} ids", settings.memory_ids);
            Some(allocations::memory(&settings, &store, &conn, &data).await)
        } else {
            None
        };
        (
            version,
            rows,
            dynamic,
            encodings,
            aggregations,
            allocs,
            memory,
        )
    });

    note!(
        "starting a cluster of 3 primaries and a single server{}",
        if pinned { ", under taskset -c 0" } else { "" }
    );
    let t = Instant::now();
    let test_cluster = server::start_cluster(3, pinned);
    let single = server::start(pinned);
    note!("started in {:.1} s", t.elapsed().as_secs_f64());
    let cluster = rt.block_on(cluster::cluster_rows(
        &settings,
        &data,
        &test_cluster.urls(),
        &single.url(),
    ));
    drop((test_cluster, single));
    drop(rt);
    let cluster_setup = format!(
        "a Valkey Cluster of 3 primaries (no replicas) and one plain server, both started by the \
         bench{}, every key's entity id in a hash tag on both (`hash_tag_entities(true)`), the \
         same {} users of user_profile loaded into each",
        if pinned { " under taskset -c 0" } else { "" },
        settings.users
    );

    let (throughput, server_bench) = if settings.throughput_secs > 0.0 {
        let tp = throughput::throughput(&settings, &url, &data);
        note!("server benchmark");
        (Some(tp), Some(throughput::server_benchmark(&url)))
    } else {
        (None, None)
    };

    let report = Report {
        mode: settings.mode,
        pinning,
        server: format!(
            "{version} ({})",
            if server.is_some() {
                "started by the bench, 127.0.0.1 TCP"
            } else {
                "VALKEY_URL"
            }
        ),
        runtime: "latency and allocations: tokio current-thread; throughput: tokio multi-thread"
            .into(),
        users: settings.users,
        rows,
        dynamic,
        encodings,
        aggregations,
        cluster,
        cluster_setup,
        allocs,
        memory,
        throughput,
        server_bench,
    };
    if settings.json {
        println!("{}", json(&report));
    } else {
        println!("{}", markdown(&report));
    }
    drop(server);
}
