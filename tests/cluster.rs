//! fstore on a real Valkey Cluster (three primaries, one replica each): batches split per shard
//! and answered in input order, hash-tagged keys, reads from replicas, multi-view vectors, and a
//! primary killed mid-traffic, after which reads recover and no acknowledged write is missing; and
//! ACL users on every node (a reader reads and is refused writes; wrong passwords and missing
//! grants are clear errors).
//!
//! The read/write/batch/TTL behaviour suites (round_trip, read_batch, ttl, projection) also run
//! on a cluster, through `all_backends!`. Outer `tokio::time::timeout`s are hang guards, not
//! latency checks.

mod behaviour;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use behaviour::{Harness, UserProfile};
use fstore::{FeatureView, Store};
use support::free_port;

mod features {
    fstore::registry!("features.toml");
}

const HANG: Duration = Duration::from_secs(60);

/// The registry views' vector: three views, so three slots (and usually nodes) per entity
/// unless hash tags put them together.
#[derive(fstore::FeatureVector, Debug, Clone, PartialEq)]
#[feature_vector(registry = "features.toml")]
struct FraudInputs {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(view = "user_risk_profile")]
    fraud_score: f64,
    #[fstore(view = "user_activity")]
    clicks_24h: i64,
}

fn profile(i: u32) -> features::UserProfile {
    features::UserProfile {
        age: 30 + i64::from(i),
        lifetime_value: 100.0 * f64::from(i),
        segment: "basic".to_owned(),
        is_premium: false,
        country: None,
        days_since_signup: 10,
        embedding: vec![0.5; 8],
    }
}

fn risk(i: u32) -> features::UserRiskProfile {
    features::UserRiskProfile {
        fraud_score: f64::from(i) / 100.0,
        txn_count_24h: 1,
        chargebacks_90d: 0,
        is_flagged: false,
    }
}

fn activity(i: u32) -> features::UserActivity {
    features::UserActivity {
        sessions_7d: 3,
        clicks_24h: i64::from(i) * 2,
        last_category: None,
        avg_session_seconds: 1.0,
    }
}

/// `INFO commandstats` calls of `command` on the node on `port`.
fn calls(h: &mut Harness, port: u16, command: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut h.test_cluster().conn(port))
        .unwrap();
    info.lines()
        .find_map(|line| {
            let stats = line.strip_prefix(&format!("cmdstat_{command}:"))?;
            stats
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn reset_stats(h: &mut Harness) {
    let cluster = h.test_cluster();
    for port in cluster.ports() {
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query(&mut cluster.conn(port))
            .unwrap();
    }
}

/// Writes `UserProfile::sample(i)` as `ids[i]`, in one `write_batch`.
async fn write_samples(store: &Store, ids: &[String]) {
    let rows: Vec<(&String, UserProfile)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id, UserProfile::sample(i as i64)))
        .collect();
    UserProfile::write_batch(store, rows).await.unwrap();
}

#[tokio::test]
async fn a_batch_of_1000_spans_every_primary_and_keeps_input_order() {
    let mut h = Harness::cluster().await;
    let ids: Vec<String> = (0..1000).map(|i| format!("user_{i:04}")).collect();
    write_samples(&h.store, &ids).await;

    // Every primary holds part of the batch, and each key is where the cluster says it is.
    let primaries = h.test_cluster().primaries();
    assert_eq!(primaries.len(), 3);
    let mut per_node: BTreeMap<u16, usize> = BTreeMap::new();
    for id in ids.iter().step_by(50) {
        let key = UserProfile::key(id).unwrap();
        let node = h.test_cluster().node_for_key(&key);
        let exists: bool = redis::cmd("EXISTS")
            .arg(&key)
            .query(&mut h.test_cluster().conn(node))
            .unwrap();
        assert!(exists, "`{key}` is not on its node {node}");
    }
    for &port in &primaries {
        let keys: usize = redis::cmd("DBSIZE")
            .query(&mut h.test_cluster().conn(port))
            .unwrap();
        per_node.insert(port, keys);
    }
    assert_eq!(per_node.values().sum::<usize>(), 1000, "{per_node:?}");
    assert!(per_node.values().all(|&n| n > 0), "{per_node:?}");

    // One read of 1,000 ids, reversed and with a duplicate and a missing id: one call, one
    // pipeline per primary, answers in input order.
    reset_stats(&mut h);
    // 1,000 ids in all: one pipeline's worth (the default chunk size).
    let mut query: Vec<String> = ids.iter().rev().skip(2).cloned().collect();
    query.insert(10, "user_0003".to_owned());
    query.push("nobody".to_owned());
    assert_eq!(query.len(), 1000);
    let before = h.store.round_trips();
    let got = UserProfile::read_batch(&h.store, &query).await.unwrap();
    assert_eq!(h.store.round_trips() - before, 1);
    assert_eq!(got.len(), query.len());
    for (id, row) in query.iter().zip(&got) {
        let expected = id
            .strip_prefix("user_")
            .map(|n| UserProfile::sample(n.parse().unwrap()));
        assert_eq!(row, &expected, "{id}");
    }
    let mut hmgets = 0;
    for &port in &primaries {
        let n = calls(&mut h, port, "hmget");
        assert!(n > 0, "primary {port} got no HMGET");
        hmgets += n;
    }
    assert_eq!(hmgets, query.len() as u64);

    // Every key has its TTL.
    h.assert_every_key_expires(Duration::from_secs(3600)).await;
}

#[tokio::test]
async fn vectors_span_nodes_and_hash_tags_keep_an_entity_in_one_slot() {
    // Plain keys: the three views of one entity hash to different slots.
    let mut h = Harness::cluster().await;
    for i in 0..20 {
        let id = format!("user_{i}");
        profile(i).write(&h.store, &id).await.unwrap();
        risk(i).write(&h.store, &id).await.unwrap();
        activity(i).write(&h.store, &id).await.unwrap();
    }
    let expected = |i: u32| FraudInputs {
        age: 30 + i64::from(i),
        fraud_score: f64::from(i) / 100.0,
        clicks_24h: i64::from(i) * 2,
    };
    assert_eq!(
        FraudInputs::vector(&h.store, "user_7").await.unwrap(),
        expected(7)
    );
    let ids: Vec<String> = (0..20).rev().map(|i| format!("user_{i}")).collect();
    let batch = FraudInputs::vector_batch(&h.store, &ids).await.unwrap();
    assert_eq!(batch, (0..20).rev().map(expected).collect::<Vec<_>>());
    let slots: BTreeSet<u16> = ["user_profile", "user_risk_profile", "user_activity"]
        .iter()
        .map(|view| keyslot(&h, &format!("fs:v1:{view}:user_7")))
        .collect();
    assert!(slots.len() > 1, "plain keys of three views share a slot");

    // Hash tags: `fs:v1:{view}:{id}`, one slot per entity, same results.
    let tagged = Store::cluster_builder(&h.cluster_urls())
        .hash_tag_entities(true)
        .build()
        .await
        .unwrap();
    for i in 0..20 {
        let id = format!("user_{i}");
        profile(i).write(&tagged, &id).await.unwrap();
        risk(i).write(&tagged, &id).await.unwrap();
        activity(i).write(&tagged, &id).await.unwrap();
    }
    let keys = h.keys().await;
    assert!(
        keys.contains(&"fs:v1:user_profile:{user_7}".to_owned()),
        "{keys:?}"
    );
    let slots: BTreeSet<u16> = ["user_profile", "user_risk_profile", "user_activity"]
        .iter()
        .map(|view| keyslot(&h, &format!("fs:v1:{view}:{{user_7}}")))
        .collect();
    assert_eq!(
        slots.len(),
        1,
        "hash-tagged keys of one entity in several slots"
    );
    // One pipeline to one node: only one node sees the vector's HMGETs.
    reset_stats(&mut h);
    assert_eq!(
        FraudInputs::vector(&tagged, "user_7").await.unwrap(),
        expected(7)
    );
    let ports = h.test_cluster().ports();
    let reads: Vec<u64> = ports.iter().map(|&p| calls(&mut h, p, "hmget")).collect();
    assert_eq!(reads.iter().filter(|&&n| n > 0).count(), 1, "{reads:?}");
    assert_eq!(reads.iter().sum::<u64>(), 3, "{reads:?}");
    assert_eq!(
        FraudInputs::vector_batch(&tagged, &ids).await.unwrap(),
        batch
    );
    assert_eq!(
        features::UserProfile::read(&tagged, "user_3")
            .await
            .unwrap(),
        Some(profile(3))
    );
    assert!(features::UserProfile::ttl(&tagged, "user_3")
        .await
        .unwrap()
        .is_some());
    // The two layouts are separate data: a hash-tagged store does not see plain keys.
    UserProfile::sample(1)
        .write(&h.store, "only_plain")
        .await
        .unwrap();
    assert_eq!(
        UserProfile::read(&tagged, "only_plain").await.unwrap(),
        None
    );
}

fn keyslot(h: &Harness, key: &str) -> u16 {
    let mut conn = h.cluster_conn();
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query(&mut conn)
        .unwrap()
}

/// Waits (bounded) until every node's `CLUSTER SLOTS` lists a replica for every slot range:
/// Valkey leaves out replicas whose offset the cluster bus has not yet reported, such as those
/// of a fresh cluster, until some data has been replicated.
fn wait_until_replicas_are_listed(h: &mut Harness) {
    let started = std::time::Instant::now();
    let cluster = h.test_cluster();
    loop {
        let listed = cluster.ports().into_iter().all(|port| {
            let slots: redis::Value = redis::cmd("CLUSTER")
                .arg("SLOTS")
                .query(&mut cluster.conn(port))
                .unwrap();
            let redis::Value::Array(ranges) = slots else {
                return false;
            };
            !ranges.is_empty()
                && ranges
                    .iter()
                    .all(|r| matches!(r, redis::Value::Array(parts) if parts.len() >= 4))
        });
        if listed {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "replicas never appeared in CLUSTER SLOTS"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn reads_from_replicas_leave_the_primaries_idle() {
    let mut h = Harness::cluster_with(|b| b.wait_for_replicas(1, Duration::from_secs(2))).await;
    let rows: Vec<(String, UserProfile)> = (0..300)
        .map(|i| (format!("r{i}"), UserProfile::sample(i)))
        .collect();
    // `wait_for_replicas`: the write returns once a replica has it, so reading there is safe.
    UserProfile::write_batch(&h.store, rows.clone())
        .await
        .unwrap();
    UserProfile::sample(7)
        .write(&h.store, "single")
        .await
        .unwrap();
    wait_until_replicas_are_listed(&mut h);
    let replicas = Store::cluster_builder(&h.cluster_urls())
        .read_from_replicas(true)
        .build()
        .await
        .unwrap();

    reset_stats(&mut h);
    let ids: Vec<&String> = rows.iter().map(|(id, _)| id).collect();
    let got = UserProfile::read_batch(&replicas, &ids).await.unwrap();
    assert_eq!(
        got,
        rows.iter()
            .map(|(_, r)| Some(r.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        UserProfile::read(&replicas, "single").await.unwrap(),
        Some(UserProfile::sample(7))
    );
    let primaries = h.test_cluster().primaries();
    let mut replica_hmgets = 0;
    for port in h.test_cluster().ports() {
        let n = calls(&mut h, port, "hmget");
        if primaries.contains(&port) {
            assert_eq!(n, 0, "primary {port} served {n} reads");
        } else {
            replica_hmgets += n;
        }
    }
    assert_eq!(replica_hmgets, 301);
    // Writes still go to the primaries.
    UserProfile::sample(8).write(&replicas, "w").await.unwrap();
    assert_eq!(
        UserProfile::read(&h.store, "w").await.unwrap(),
        Some(UserProfile::sample(8))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_fails_over_and_no_acknowledged_write_is_lost() {
    // Writes wait for a replica: an acknowledged write exists on the node that takes over.
    // The WAIT timeout leaves room for a loaded 2-core CI machine (500 ms once saw no
    // acknowledgement from a replica that had just synced); a write to a dead or
    // replica-less primary still fails, which is what the test needs.
    let mut h = Harness::cluster_with(|b| {
        b.response_timeout(Duration::from_millis(4_000))
            .wait_for_replicas(1, Duration::from_millis(2_000))
    })
    .await;
    let ids: Vec<String> = (0..300).map(|i| format!("f{i}")).collect();
    write_samples(&h.store, &ids).await;

    // A writer that keeps writing single entities and batches while the primary dies.
    let store = h.store.clone();
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let writer = tokio::spawn(async move {
        let mut outcomes: Vec<(String, i64, bool)> = Vec::new();
        let mut n: i64 = 0;
        while !*stop_rx.borrow_and_update() {
            let id = format!("w{n}");
            let ok = UserProfile::sample(n).write(&store, &id).await.is_ok();
            outcomes.push((id, n, ok));
            let batch: Vec<(String, UserProfile)> = (0..20)
                .map(|k| (format!("b{n}_{k}"), UserProfile::sample(n + k)))
                .collect();
            let ok = UserProfile::write_batch(&store, batch).await.is_ok();
            for k in 0..20 {
                outcomes.push((format!("b{n}_{k}"), n + k, ok));
            }
            n += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        outcomes
    });

    tokio::time::sleep(Duration::from_millis(300)).await;
    let victim = h
        .test_cluster()
        .node_for_key(&UserProfile::key("f0").unwrap());
    h.test_cluster().kill(victim);
    let promoted = {
        let cluster = h.test_cluster();
        tokio::task::block_in_place(|| cluster.wait_for_failover(victim))
    };
    assert_ne!(promoted, victim);

    // Reads recover within a bounded number of retries.
    let mut attempts = 0;
    let got = loop {
        attempts += 1;
        match UserProfile::read_batch(&h.store, &ids).await {
            Ok(got) => break got,
            Err(err) => {
                assert!(attempts < 50, "reads did not recover after failover: {err}");
                assert!(err.is_connection() || err.is_timeout(), "{err:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    for (i, row) in got.iter().enumerate() {
        assert_eq!(row, &Some(UserProfile::sample(i as i64)), "{}", ids[i]);
    }

    // Bring the old primary back as a replica, so that writes to its shard can be acknowledged
    // by a replica again, and let the writer run a little longer.
    {
        let cluster = h.test_cluster();
        tokio::task::block_in_place(|| {
            cluster.restart(victim);
            cluster.wait_healthy();
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_tx.send(true).unwrap();
    let outcomes = tokio::time::timeout(HANG, writer)
        .await
        .expect("the writer hung")
        .unwrap();
    let failed = outcomes.iter().filter(|(_, _, ok)| !ok).count();
    let succeeded = outcomes.len() - failed;
    assert!(failed > 0, "no write failed while a primary was down");
    assert!(succeeded > 0, "no write succeeded");

    // Every acknowledged write is there, whole, with its TTL; a failed one is whole or absent.
    let written: Vec<&String> = outcomes.iter().map(|(id, _, _)| id).collect();
    let rows = UserProfile::read_batch(&h.store, &written)
        .await
        .expect("a half-written entity fails the read");
    let mut failed_but_present = 0;
    for ((id, n, ok), row) in outcomes.iter().zip(&rows) {
        match row {
            Some(row) => {
                assert_eq!(row, &UserProfile::sample(*n), "{id}");
                let ttl = UserProfile::ttl(&h.store, id).await.unwrap();
                assert!(ttl.is_some(), "`{id}` has no TTL");
                if !ok {
                    failed_but_present += 1;
                }
            }
            None => assert!(!ok, "acknowledged write of `{id}` is lost"),
        }
    }
    // Writes that failed only for want of a replica acknowledgement did reach the primary.
    eprintln!(
        "{succeeded} writes acknowledged, {failed} failed ({failed_but_present} of them applied anyway)"
    );
    // Writes work again on the healed cluster.
    UserProfile::sample(1)
        .write(&h.store, "after")
        .await
        .unwrap();
    assert_eq!(
        UserProfile::read(&h.store, "after").await.unwrap(),
        Some(UserProfile::sample(1))
    );
}

#[tokio::test]
async fn no_reachable_node_is_a_quick_error() {
    let urls = [
        format!("redis://127.0.0.1:{}", free_port()),
        format!("redis://127.0.0.1:{}", free_port()),
    ];
    let err = tokio::time::timeout(HANG, Store::connect_cluster(&urls))
        .await
        .expect("connect_cluster hung")
        .unwrap_err();
    assert!(err.is_connection() || err.is_timeout(), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("127.0.0.1:"), "{msg}");

    let err = Store::cluster_builder(&urls)
        .connect_lazily(true)
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, fstore::Error::Config(_)), "{err:?}");
    let none: [&str; 0] = [];
    let err = Store::connect_cluster(&none).await.unwrap_err();
    assert!(matches!(err, fstore::Error::Config(_)), "{err:?}");
}

/// `ACL SETUSER` on every node: ACLs are per node, not replicated by the cluster.
fn add_user(h: &mut Harness, name: &str, password: &str, grants: &[&str]) {
    let cluster = h.test_cluster();
    for port in cluster.ports() {
        let _: () = redis::cmd("ACL")
            .arg("SETUSER")
            .arg(name)
            .arg(&["on", &format!(">{password}"), "resetkeys", "~fs:*", "-@all"][..])
            .arg(grants)
            .query(&mut cluster.conn(port))
            .unwrap();
    }
}

#[tokio::test]
async fn acl_users_on_a_cluster() {
    let mut h = Harness::cluster().await;
    write_samples(&h.store, &["u0".to_owned(), "u1".to_owned()]).await;
    // The read-only grant, plus what a cluster client needs to learn the topology.
    add_user(
        &mut h,
        "reader",
        "r3ad-P4ss",
        &["+hmget", "+pttl", "+ping", "+cluster|slots"],
    );
    let urls = h.cluster_urls();
    let reader = Store::cluster_builder(&urls)
        .username("reader")
        .password("r3ad-P4ss")
        .build()
        .await
        .unwrap();
    assert!(!format!("{reader:?}").contains("r3ad-P4ss"));
    let ids = ["u0", "u1", "nobody"];
    assert_eq!(
        UserProfile::read_batch(&reader, ids).await.unwrap(),
        vec![
            Some(UserProfile::sample(0)),
            Some(UserProfile::sample(1)),
            None
        ]
    );
    assert!(UserProfile::ttl(&reader, "u0").await.unwrap().is_some());

    // Writes are refused, single and batch, and nothing changes.
    for result in [
        UserProfile::sample(9).write(&reader, "u0").await,
        UserProfile::write_batch(&reader, [("u1", UserProfile::sample(9))]).await,
    ] {
        let err = result.unwrap_err();
        let denied = match &err {
            fstore::Error::Batch(batch) => batch
                .outcomes()
                .iter()
                .all(|o| matches!(o, fstore::WriteOutcome::Refused(e) if e.is_permission_denied())),
            other => other.is_permission_denied(),
        };
        assert!(denied, "{err:?}");
        assert!(!err.to_string().contains("r3ad-P4ss"), "{err}");
    }
    assert_eq!(
        UserProfile::read_batch(&h.store, ["u0", "u1"])
            .await
            .unwrap(),
        vec![Some(UserProfile::sample(0)), Some(UserProfile::sample(1))]
    );

    // Without `+cluster|slots` the client cannot learn the topology: a permission error.
    add_user(&mut h, "bare", "b4re-P4ss", &["+hmget", "+pttl", "+ping"]);
    let err = Store::cluster_builder(&urls)
        .username("bare")
        .password("b4re-P4ss")
        .build()
        .await
        .unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("permission denied for the connection setup: ")
            && msg.contains("cluster|slots"),
        "{msg}"
    );

    // A wrong password: an authentication error, without the password in it.
    let err = Store::cluster_builder(&urls)
        .username("reader")
        .password("wr0ng-P4ss")
        .build()
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("wr0ng-P4ss"), "{err}");
}
