//! The latency table: fstore's typed API next to the hand-written client, row by row.

use std::time::Instant;

use fstore::Store;
use redis::aio::MultiplexedConnection;

use crate::data::{Data, SplitMix};
use crate::hand;
use crate::honesty::{check_commands, check_writes};
use crate::measurement::{measure, random_ids, random_rows, RowResult};
use crate::settings::Settings;
use crate::views::{Fraud, Two, UserProfile};

pub async fn latency_rows(
    settings: &Settings,
    store: &Store,
    conn: &MultiplexedConnection,
    data: &Data,
) -> Vec<RowResult> {
    let s = settings;
    let mut rows = Vec::new();
    let mut rng = SplitMix(0x5eed_7ab1e);
    check_commands();

    // 1. Single read, all features.
    {
        let probe = &data.ids[7];
        let a = UserProfile::read(store, probe).await.unwrap();
        let b = hand::read(&mut conn.clone(), probe).await.unwrap();
        assert_eq!(a, b, "single read: fstore and hand-written differ");
        assert_eq!(a.as_ref(), Some(&data.users[7]));
        let mut c = conn.clone();
        note!("row: single read, all features");
        let samples = measure(2, s.warmup, s.read_iters, s.row_budget, async |side| {
            let id = data.ids[rng.below(data.ids.len())].as_str();
            let t = Instant::now();
            let found = if side == 0 {
                UserProfile::read(store, id).await.unwrap().is_some()
            } else {
                hand::read(&mut c, id).await.unwrap().is_some()
            };
            let d = t.elapsed();
            assert!(found);
            d
        })
        .await;
        rows.push(RowResult::new(
            "single read, all features (7)",
            "HMGET, 8 fields",
            100.0,
            &samples,
            0,
            1,
        ));
    }

    // 2. Single read, 2 features.
    {
        let probe = &data.ids[42];
        let a = Two::read(store, probe).await.unwrap();
        let b = hand::read_two(&mut conn.clone(), probe).await.unwrap();
        assert_eq!(a, b, "2-feature read: fstore and hand-written differ");
        let mut c = conn.clone();
        note!("row: single read, 2 features");
        let samples = measure(2, s.warmup, s.read_iters, s.row_budget, async |side| {
            let id = data.ids[rng.below(data.ids.len())].as_str();
            let t = Instant::now();
            let found = if side == 0 {
                Two::read(store, id).await.unwrap().is_some()
            } else {
                hand::read_two(&mut c, id).await.unwrap().is_some()
            };
            let d = t.elapsed();
            assert!(found);
            d
        })
        .await;
        rows.push(RowResult::new(
            "single read, 2 features",
            "HMGET, 3 fields",
            100.0,
            &samples,
            0,
            1,
        ));
    }

    // 3. Batch read of 100.
    {
        let probe = random_ids(&mut rng, data, 100);
        let a = UserProfile::read_batch(store, &probe).await.unwrap();
        let b = hand::read_batch(&mut conn.clone(), &probe, 1_000)
            .await
            .unwrap();
        assert_eq!(a, b, "batch read: fstore and hand-written differ");
        let mut c = conn.clone();
        note!("row: batch read of 100");
        let samples = measure(2, s.warmup, s.read_iters, s.row_budget, async |side| {
            let ids = random_ids(&mut rng, data, 100);
            let t = Instant::now();
            let n = if side == 0 {
                UserProfile::read_batch(store, &ids).await.unwrap().len()
            } else {
                hand::read_batch(&mut c, &ids, 1_000).await.unwrap().len()
            };
            let d = t.elapsed();
            assert_eq!(n, 100);
            d
        })
        .await;
        rows.push(RowResult::new(
            "batch read, 100 entities",
            "pipeline of 100 HMGET",
            300.0,
            &samples,
            0,
            1,
        ));
    }

    // 4. Multi-view vector.
    {
        for probe in [&data.ids[3], &data.ids[7], &data.ids[10]] {
            let a = Fraud::vector(store, probe).await.unwrap();
            let b = hand::vector(&mut conn.clone(), probe).await.unwrap();
            assert_eq!(a, b, "vector: fstore and hand-written differ");
        }
        let mut c = conn.clone();
        note!("row: multi-view vector");
        let samples = measure(2, s.warmup, s.read_iters, s.row_budget, async |side| {
            let id = data.ids[rng.below(data.ids.len())].as_str();
            let t = Instant::now();
            let age = if side == 0 {
                Fraud::vector(store, id).await.unwrap().age
            } else {
                hand::vector(&mut c, id).await.unwrap().age
            };
            let d = t.elapsed();
            assert!(age >= 18);
            d
        })
        .await;
        rows.push(RowResult::new(
            "multi-view vector, 3 views",
            "pipeline of 3 HMGET",
            150.0,
            &samples,
            0,
            1,
        ));
    }

    // 5, 6. Batch writes: fstore (atomic per entity, EVALSHA) | hand HSET+PEXPIRE | hand EVALSHA.
    for (n, iters, seed_us) in [
        (100, s.write100_iters, 500.0),
        (1_000, s.write1000_iters, 5_000.0),
    ] {
        let probe = random_rows(&mut rng, data, n.min(100));
        check_writes(store, &mut conn.clone(), &probe).await;
        let mut c = conn.clone();
        note!("row: batch write of {n}");
        let samples = measure(3, s.warmup.min(20), iters, s.row_budget, async |side| {
            let batch = random_rows(&mut rng, data, n);
            let t = Instant::now();
            match side {
                0 => UserProfile::write_batch(store, batch.iter().copied())
                    .await
                    .unwrap(),
                1 => hand::write_batch(&mut c, &batch).await.unwrap(),
                _ => hand::write_batch_atomic(&mut c, &batch).await.unwrap(),
            }
            t.elapsed()
        })
        .await;
        let (plain, atomic) = if n == 100 {
            (
                "batch write, 100 entities",
                "batch write, 100 entities (hand-written also atomic)",
            )
        } else {
            (
                "batch write, 1,000 entities",
                "batch write, 1,000 entities (hand-written also atomic)",
            )
        };
        rows.push(RowResult::new(
            plain,
            "fstore one EVALSHA of the write script per entity | hand HSET + PEXPIRE per entity",
            seed_us,
            &samples,
            0,
            1,
        ));
        rows.push(RowResult::new(
            atomic,
            "fstore one EVALSHA per entity | hand EVALSHA of fstore's write script per entity",
            seed_us,
            &samples,
            0,
            2,
        ));
    }
    rows
}
