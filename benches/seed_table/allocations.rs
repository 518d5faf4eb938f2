//! Allocator calls and bytes per call, and the peak memory of one large `read_batch`.

use fstore::Store;
use redis::aio::MultiplexedConnection;

use crate::allocator::Tracking;
use crate::data::{Data, SplitMix};
use crate::hand;
use crate::measurement::{random_ids, random_rows};
use crate::settings::Settings;
use crate::views::{Fraud, Two, UserProfile};

pub struct AllocRow {
    pub name: &'static str,
    pub fstore_calls: f64,
    pub fstore_bytes: f64,
    pub hand_calls: f64,
    pub hand_bytes: f64,
}

/// Allocator calls and bytes per call of `f`, averaged over `n` calls after a warm-up.
pub async fn allocs_per_call<F>(n: usize, per: usize, mut f: F) -> (f64, f64)
where
    F: AsyncFnMut(),
{
    for _ in 0..n.min(50) {
        f().await;
    }
    let t = Tracking::start();
    for _ in 0..n {
        f().await;
    }
    let r = t.stop();
    let div = (n * per) as f64;
    (r.calls as f64 / div, r.bytes as f64 / div)
}

pub async fn alloc_rows(
    settings: &Settings,
    store: &Store,
    conn: &MultiplexedConnection,
    data: &Data,
) -> Vec<AllocRow> {
    let n = settings.alloc_calls;
    let mut c = conn.clone();
    // Inputs prepared outside the counted section.
    let mut rng = SplitMix(0xa110c);
    let singles: Vec<&str> = random_ids(&mut rng, data, n.max(50));
    let batches: Vec<Vec<&str>> = (0..n.max(50))
        .map(|_| random_ids(&mut rng, data, 100))
        .collect();
    let writes: Vec<Vec<(&str, &UserProfile)>> = (0..(n / 10).max(5))
        .map(|_| random_rows(&mut rng, data, 100))
        .collect();
    let mut rows = Vec::new();

    macro_rules! pair {
        ($name:expr, $per:expr, $count:expr, $inputs:expr, |$x:ident| $fstore:expr, |$y:ident| $hand:expr) => {{
            let inputs = $inputs;
            let mut i = 0;
            let (fc, fb) = allocs_per_call($count, $per, async || {
                let $x = &inputs[i % inputs.len()];
                i += 1;
                $fstore;
            })
            .await;
            let mut i = 0;
            let (hc, hb) = allocs_per_call($count, $per, async || {
                let $y = &inputs[i % inputs.len()];
                i += 1;
                $hand;
            })
            .await;
            rows.push(AllocRow {
                name: $name,
                fstore_calls: fc,
                fstore_bytes: fb,
                hand_calls: hc,
                hand_bytes: hb,
            });
        }};
    }

    pair!(
        "single read, all features",
        1,
        n,
        &singles,
        |id| UserProfile::read(store, *id).await.unwrap(),
        |id| hand::read(&mut c, id).await.unwrap()
    );
    pair!(
        "single read, 2 features",
        1,
        n,
        &singles,
        |id| Two::read(store, *id).await.unwrap(),
        |id| hand::read_two(&mut c, id).await.unwrap()
    );
    pair!(
        "batch read of 100, per entity",
        100,
        (n / 10).max(5),
        &batches,
        |ids| UserProfile::read_batch(store, ids).await.unwrap(),
        |ids| hand::read_batch(&mut c, ids, 1_000).await.unwrap()
    );
    pair!(
        "multi-view vector, 3 views",
        1,
        n,
        &singles,
        |id| Fraud::vector(store, *id).await.unwrap(),
        |id| hand::vector(&mut c, id).await.unwrap()
    );
    pair!(
        "batch write of 100, per entity (hand: HSET+PEXPIRE)",
        100,
        (n / 20).max(5),
        &writes,
        |rows| UserProfile::write_batch(store, rows.iter().copied())
            .await
            .unwrap(),
        |rows| hand::write_batch(&mut c, rows).await.unwrap()
    );
    pair!(
        "batch write of 100, per entity (hand: EVALSHA)",
        100,
        (n / 20).max(5),
        &writes,
        |rows| UserProfile::write_batch(store, rows.iter().copied())
            .await
            .unwrap(),
        |rows| hand::write_batch_atomic(&mut c, rows).await.unwrap()
    );
    rows
}

pub struct MemoryResult {
    pub ids: usize,
    pub fstore_peak: i64,
    pub fstore_retained: i64,
    pub hand_peak: i64,
    pub hand_retained: i64,
    pub result_bytes: usize,
}

/// Heap bytes of a `read_batch` result: the `Vec` and what its rows own.
pub fn result_bytes(rows: &Vec<Option<UserProfile>>) -> usize {
    rows.capacity() * std::mem::size_of::<Option<UserProfile>>()
        + rows
            .iter()
            .flatten()
            .map(|r| {
                r.segment.capacity()
                    + r.country.as_ref().map_or(0, String::capacity)
                    + r.embedding.capacity() * 4
            })
            .sum::<usize>()
}

pub async fn memory(
    settings: &Settings,
    store: &Store,
    conn: &MultiplexedConnection,
    data: &Data,
) -> MemoryResult {
    let mut rng = SplitMix(0x3e3);
    let ids = random_ids(&mut rng, data, settings.memory_ids);
    let chunk = store.pipeline_chunk_size();

    let t = Tracking::start();
    let rows = UserProfile::read_batch(store, &ids).await.unwrap();
    let f = t.stop();
    let result = result_bytes(&rows);
    drop(rows);

    let mut c = conn.clone();
    let t = Tracking::start();
    let rows = hand::read_batch(&mut c, &ids, chunk).await.unwrap();
    let h = t.stop();
    drop(rows);

    MemoryResult {
        ids: ids.len(),
        fstore_peak: f.peak,
        fstore_retained: f.retained,
        hand_peak: h.peak,
        hand_retained: h.retained,
        result_bytes: result,
    }
}
