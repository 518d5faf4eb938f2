//! A Valkey Cluster of three primaries next to one server: the same typed calls on the same data,
//! entity ids in hash tags on both (`hash_tag_entities(true)`), measured interleaved in the same
//! run; ratio = cluster p50 / single-server p50 (target ≤ 1.2).
//!
//! The bench starts both (`server::start_cluster`, `server::start`), the same way and under the
//! same pinning as its main server, and loads `user_profile` of every user into each.

use std::time::Instant;

use fstore::Store;

use crate::data::{Data, SplitMix};
use crate::measurement::{measure, random_ids, random_rows, RatioRow};
use crate::settings::Settings;
use crate::views::UserProfile;

/// The ratio to one server the issue sets for the cluster rows.
const TARGET: f64 = 1.2;

/// The result of `call` and the round trips it took on `store` (`Store::round_trips`; one per
/// call on a cluster too, although it sends one pipeline per shard).
async fn counted<T>(store: &Store, call: impl AsyncFnOnce() -> T) -> (u64, T) {
    let before = store.round_trips();
    let out = call().await;
    (store.round_trips() - before, out)
}

pub async fn cluster_rows(
    settings: &Settings,
    data: &Data,
    cluster_urls: &[String],
    single_url: &str,
) -> Vec<RatioRow> {
    let s = settings;
    let cluster = Store::cluster_builder(cluster_urls)
        .hash_tag_entities(true)
        .build()
        .await
        .expect("fstore cannot connect to the cluster");
    let single = Store::builder(single_url)
        .hash_tag_entities(true)
        .build()
        .await
        .expect("fstore cannot connect to the single server");
    let t = Instant::now();
    for store in [&cluster, &single] {
        UserProfile::write_batch(store, data.ids.iter().zip(&data.users))
            .await
            .expect("load user_profile");
    }
    note!(
        "cluster: loaded {} users into the cluster and the single server in {:.0} ms",
        data.ids.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut rng = SplitMix(0xc105_7e57);
    let mut rows = Vec::new();

    // Batch read of 100.
    {
        let picked: Vec<usize> = (0..100).map(|_| rng.below(data.ids.len())).collect();
        let probe: Vec<&str> = picked.iter().map(|&i| data.ids[i].as_str()).collect();
        let want: Vec<Option<&UserProfile>> =
            picked.iter().map(|&i| Some(&data.users[i])).collect();
        let (rt_c, c) = counted(&cluster, async || {
            UserProfile::read_batch(&cluster, &probe).await
        })
        .await;
        let (rt_s, one) = counted(&single, async || {
            UserProfile::read_batch(&single, &probe).await
        })
        .await;
        let (c, one) = (c.unwrap(), one.unwrap());
        assert_eq!(
            c.iter().map(Option::as_ref).collect::<Vec<_>>(),
            want,
            "cluster batch read"
        );
        assert_eq!(
            one.iter().map(Option::as_ref).collect::<Vec<_>>(),
            want,
            "single-server batch read"
        );
        note!("row: cluster batch read of 100");
        let samples = measure(2, s.warmup, s.read_iters, s.row_budget, async |side| {
            let ids = random_ids(&mut rng, data, 100);
            let store = if side == 0 { &cluster } else { &single };
            let t = Instant::now();
            let n = UserProfile::read_batch(store, &ids).await.unwrap().len();
            let d = t.elapsed();
            assert_eq!(n, 100);
            d
        })
        .await;
        rows.push(RatioRow::new(
            "read_batch, 100 entities",
            "`UserProfile::read_batch` of 100 ids (100 HMGET): on the cluster | on one server",
            TARGET,
            (rt_c, rt_s),
            &samples,
            0,
            1,
        ));
    }

    // Batch write of 1,000.
    {
        let batch = random_rows(&mut rng, data, 1_000);
        let ids: Vec<&str> = batch.iter().map(|(id, _)| *id).collect();
        // Written changed, read back, then written back as they were: every write must land.
        let changed: Vec<UserProfile> = batch
            .iter()
            .map(|(_, u)| UserProfile {
                age: u.age + 1_000,
                ..(*u).clone()
            })
            .collect();
        let mut round_trips = Vec::new();
        for (store, name) in [(&cluster, "the cluster"), (&single, "one server")] {
            let (rt, written) = counted(store, async || {
                UserProfile::write_batch(store, ids.iter().copied().zip(&changed)).await
            })
            .await;
            written.unwrap();
            round_trips.push(rt);
            let back = UserProfile::read_batch(store, &ids).await.unwrap();
            assert!(
                back.iter()
                    .zip(&changed)
                    .all(|(b, c)| b.as_ref() == Some(c)),
                "a batch write of 1,000 reads back differently on {name}"
            );
            UserProfile::write_batch(store, batch.iter().copied())
                .await
                .unwrap();
        }
        note!("row: cluster batch write of 1,000");
        let samples = measure(
            2,
            s.warmup.min(20),
            s.write1000_iters,
            s.row_budget,
            async |side| {
                let batch = random_rows(&mut rng, data, 1_000);
                let store = if side == 0 { &cluster } else { &single };
                let t = Instant::now();
                UserProfile::write_batch(store, batch.iter().copied())
                    .await
                    .unwrap();
                t.elapsed()
            },
        )
        .await;
        rows.push(RatioRow::new(
            "write_batch, 1,000 entities",
            "`UserProfile::write_batch` of 1,000 rows (one EVALSHA of the write script each): on the cluster | on one server",
            TARGET,
            (round_trips[0], round_trips[1]),
            &samples,
            0,
            1,
        ));
    }
    rows
}
