//! The two `float_list` encodings side by side: the same embeddings stored as JSON text (`json`,
//! the default, which text-only readers such as the Python library read) and as little-endian
//! `f32` bytes (`f32le`, declared per feature), read and written through the same typed calls on
//! the same server, measured interleaved; ratio = json p50 / f32le p50 (no target: the price of
//! text, reported). Also the stored size of one list in each.

use std::time::Instant;

use fstore::{FeatureView, Store};

use crate::data::SplitMix;
use crate::measurement::{measure, RatioRow};
use crate::settings::Settings;
use crate::views::{Json64, Json8, Packed64, Packed8};

/// No target: the rows report what the text encoding costs.
const NO_TARGET: f64 = f64::INFINITY;

/// The stored size of one list of `len` floats in each encoding, averaged over the entities.
pub struct ListSize {
    pub len: usize,
    pub json_bytes: f64,
    pub f32le_bytes: f64,
}

pub struct EncodingRows {
    pub rows: Vec<RatioRow>,
    pub sizes: Vec<ListSize>,
}

/// Entity ids of the encodings rows: `bench_list_00042`.
fn id(i: usize) -> String {
    format!("bench_list_{i:05}")
}

/// `n` embeddings of `len` floats in [-1, 1) with every bit of precision, as a model writes them.
fn embeddings(n: usize, len: usize) -> Vec<Vec<f32>> {
    let mut rng = SplitMix(0xe3b0_c442 + len as u64);
    (0..n)
        .map(|_| {
            (0..len)
                .map(|_| (rng.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
                .collect()
        })
        .collect()
}

/// The average stored size of the `field` of `ids` in `view`'s hashes.
async fn stored_size<V: FeatureView>(
    conn: &mut redis::aio::MultiplexedConnection,
    ids: &[String],
) -> f64 {
    let mut total = 0usize;
    for id in ids {
        let len: usize = redis::cmd("HSTRLEN")
            .arg(V::key(id.as_str()).expect("key"))
            .arg("embedding")
            .query_async(conn)
            .await
            .expect("HSTRLEN");
        total += len;
    }
    total as f64 / ids.len() as f64
}

/// Loads `lists` into both views, checks that each reads back exactly, and measures a read of
/// 100 entities.
macro_rules! read_row {
    ($s:expr, $store:expr, $conn:expr, $rng:expr, $ids:expr, $lists:expr, $json:ty, $packed:ty,
     $len:expr, $name:expr, $command:expr, $rows:expr, $sizes:expr) => {{
        let (s, store, ids, lists) = ($s, $store, $ids, $lists);
        let json: Vec<$json> = lists.iter().map(|l| <$json>::new(l.clone())).collect();
        let packed: Vec<$packed> = lists.iter().map(|l| <$packed>::new(l.clone())).collect();
        <$json>::write_batch(store, ids.iter().zip(&json))
            .await
            .expect("load json lists");
        <$packed>::write_batch(store, ids.iter().zip(&packed))
            .await
            .expect("load f32le lists");
        let probe: Vec<&String> = ids.iter().take(100).collect();
        let before = store.round_trips();
        let a = <$json>::read_batch(store, &probe).await.unwrap();
        let json_trips = store.round_trips() - before;
        let before = store.round_trips();
        let b = <$packed>::read_batch(store, &probe).await.unwrap();
        let packed_trips = store.round_trips() - before;
        for ((a, b), want) in a.iter().zip(&b).zip(lists) {
            assert_eq!(
                a.as_ref().map(|r| &r.embedding),
                Some(want),
                "json list read back"
            );
            assert_eq!(
                b.as_ref().map(|r| &r.embedding),
                Some(want),
                "f32le list read back"
            );
        }
        $sizes.push(ListSize {
            len: $len,
            json_bytes: stored_size::<$json>($conn, ids).await,
            f32le_bytes: stored_size::<$packed>($conn, ids).await,
        });
        note!("row: {}", $name);
        let rng = &mut *$rng;
        let samples = measure(2, s.warmup, s.read_iters, s.row_budget, async |side| {
            let batch: Vec<&String> = (0..100).map(|_| &ids[rng.below(ids.len())]).collect();
            let t = Instant::now();
            let n = if side == 0 {
                <$json>::read_batch(store, &batch).await.unwrap().len()
            } else {
                <$packed>::read_batch(store, &batch).await.unwrap().len()
            };
            let d = t.elapsed();
            assert_eq!(n, 100);
            d
        })
        .await;
        let trips = (json_trips, packed_trips);
        $rows.push(RatioRow::new(
            $name, $command, NO_TARGET, trips, &samples, 0, 1,
        ));
    }};
}

pub async fn encoding_rows(settings: &Settings, store: &Store, url: &str) -> EncodingRows {
    let s = settings;
    let n = settings.users.min(2_000);
    let ids: Vec<String> = (0..n).map(id).collect();
    let mut conn = redis::Client::open(url)
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis-rs cannot connect");
    let mut rng = SplitMix(0x11a7_e2c0);
    let mut rows = Vec::new();
    let mut sizes = Vec::new();

    let eight = embeddings(n, 8);
    read_row!(
        s,
        store,
        &mut conn,
        &mut rng,
        &ids,
        &eight,
        Json8,
        Packed8,
        8,
        "read_batch, 100 entities, 8-float list",
        "`read_batch` of 100 ids (100 HMGET) of a view with one `len = 8` list: json | f32le",
        rows,
        sizes
    );
    let sixty_four = embeddings(n, 64);
    read_row!(
        s,
        store,
        &mut conn,
        &mut rng,
        &ids,
        &sixty_four,
        Json64,
        Packed64,
        64,
        "read_batch, 100 entities, 64-float list",
        "`read_batch` of 100 ids (100 HMGET) of a view with one `len = 64` list: json | f32le",
        rows,
        sizes
    );

    // Batch write of 100 64-float lists.
    {
        let json: Vec<Json64> = sixty_four.iter().map(|l| Json64::new(l.clone())).collect();
        let packed: Vec<Packed64> = sixty_four
            .iter()
            .map(|l| Packed64::new(l.clone()))
            .collect();
        let mut trips = Vec::new();
        for side in 0..2 {
            let before = store.round_trips();
            if side == 0 {
                Json64::write_batch(store, ids[..100].iter().zip(&json))
                    .await
                    .unwrap();
            } else {
                Packed64::write_batch(store, ids[..100].iter().zip(&packed))
                    .await
                    .unwrap();
            }
            trips.push(store.round_trips() - before);
        }
        note!("row: write_batch, 100 entities, 64-float list");
        let samples = measure(
            2,
            s.warmup.min(20),
            s.write100_iters,
            s.row_budget,
            async |side| {
                let start = rng.below(n - 100 + 1);
                let batch = &ids[start..start + 100];
                let t = Instant::now();
                if side == 0 {
                    Json64::write_batch(store, batch.iter().zip(&json[start..start + 100]))
                        .await
                        .unwrap();
                } else {
                    Packed64::write_batch(store, batch.iter().zip(&packed[start..start + 100]))
                        .await
                        .unwrap();
                }
                t.elapsed()
            },
        )
        .await;
        rows.push(RatioRow::new(
            "write_batch, 100 entities, 64-float list",
            "`write_batch` of 100 rows of one `len = 64` list (one pipeline of write-script calls): json | f32le",
            NO_TARGET,
            (trips[0], trips[1]),
            &samples,
            0,
            1,
        ));
    }
    EncodingRows { rows, sizes }
}
