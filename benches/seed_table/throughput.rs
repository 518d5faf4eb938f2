//! Throughput of single-entity reads from many tasks, and `valkey-benchmark` on the same server.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fstore::Store;
use redis::aio::MultiplexedConnection;

use crate::data::{Data, SplitMix};
use crate::hand;
use crate::settings::Settings;
use crate::support::find_on_path;
use crate::views::UserProfile;

pub struct Throughput {
    pub tasks: usize,
    pub fstore_ops: f64,
    pub hand_ops: f64,
}

/// Single-entity reads from `tasks` concurrent tasks for `secs` seconds; ops/s.
pub async fn run_tasks(tasks: usize, secs: f64, ids: Arc<Vec<String>>, side: Side) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for t in 0..tasks {
        let stop = Arc::clone(&stop);
        let ids = Arc::clone(&ids);
        let side = side.clone();
        handles.push(tokio::spawn(async move {
            let mut rng = SplitMix(0x7e57 + t as u64);
            let mut ops = 0u64;
            let (mut conn, store) = match side {
                Side::Fstore(s) => (None, Some(s)),
                Side::Hand(c) => (Some(c), None),
            };
            while !stop.load(Ordering::Relaxed) {
                let id = ids[rng.below(ids.len())].as_str();
                let found = match (&store, &mut conn) {
                    (Some(s), _) => UserProfile::read(s, id).await.unwrap().is_some(),
                    (None, Some(c)) => hand::read(c, id).await.unwrap().is_some(),
                    (None, None) => unreachable!(),
                };
                assert!(found);
                ops += 1;
            }
            ops
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for h in handles {
        total += h.await.expect("throughput task panicked");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

#[derive(Clone)]
pub enum Side {
    Fstore(Store),
    Hand(MultiplexedConnection),
}

pub fn throughput(settings: &Settings, url: &str, data: &Data) -> (usize, Vec<Throughput>) {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime");
    let ids = Arc::new(data.ids.clone());
    let out = rt.block_on(async {
        let store = Store::connect(url).await.expect("connect");
        let conn = redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let mut out = Vec::new();
        for tasks in [1, 16, 64] {
            note!("throughput: {tasks} task(s)");
            // A short warm-up per side, then the measured run.
            let _ = run_tasks(tasks, 0.2, Arc::clone(&ids), Side::Fstore(store.clone())).await;
            let f = run_tasks(
                tasks,
                settings.throughput_secs,
                Arc::clone(&ids),
                Side::Fstore(store.clone()),
            )
            .await;
            let _ = run_tasks(tasks, 0.2, Arc::clone(&ids), Side::Hand(conn.clone())).await;
            let h = run_tasks(
                tasks,
                settings.throughput_secs,
                Arc::clone(&ids),
                Side::Hand(conn.clone()),
            )
            .await;
            out.push(Throughput {
                tasks,
                fstore_ops: f,
                hand_ops: h,
            });
        }
        out
    });
    (workers, out)
}

/// `valkey-benchmark -c 50 -n 100000 -t get -q` on the same server, when the binary exists.
pub fn server_benchmark(url: &str) -> Result<(String, String), String> {
    let Some(binary) = ["valkey-benchmark", "redis-benchmark"]
        .iter()
        .find_map(|n| find_on_path(n))
    else {
        return Err(
            "no valkey-benchmark or redis-benchmark on PATH (Debian: apt-get install valkey-tools)"
                .into(),
        );
    };
    let Some(hostport) = url
        .strip_prefix("redis://")
        .filter(|h| !h.contains('@') && !h.contains('/'))
    else {
        return Err(format!(
            "cannot pass {url} to {} (only redis://host:port)",
            binary.display()
        ));
    };
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "6379"));
    let out = Command::new(&binary)
        .args([
            "-h", host, "-p", port, "-c", "50", "-n", "100000", "-t", "get", "-q",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .split(['\r', '\n'])
        .rfind(|l| l.contains("requests per second"))
        .map(|l| l.trim().to_owned())
        .ok_or_else(|| format!("unexpected output: {text}"))?;
    let name = binary
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    Ok((format!("{name} -c 50 -n 100000 -t get"), line))
}
