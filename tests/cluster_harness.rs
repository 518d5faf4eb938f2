//! The test-cluster harness itself: a six-node Valkey Cluster comes up healthy,
//! keys land where `node_for_key` says, and a killed primary fails over to its
//! replica. Waits are bounded; nothing here asserts wall-clock times.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::thread;
use std::time::{Duration, Instant};

use redis::Commands;
use support::cluster::TestCluster;

/// A generous bound for a read to work again after a failover.
const READ_AGAIN_TIMEOUT: Duration = Duration::from_secs(30);

fn cluster_info(conn: &mut redis::Connection) -> String {
    redis::cmd("CLUSTER").arg("INFO").query(conn).unwrap()
}

fn info_line<'a>(info: &'a str, field: &str) -> &'a str {
    info.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {field} in:\n{info}"))
}

#[test]
fn cluster_comes_up_with_three_primaries_each_with_one_replica() {
    let cluster = TestCluster::start();
    let ports = cluster.ports();
    assert_eq!(ports.len(), 6);
    assert_eq!(ports.iter().collect::<BTreeSet<_>>().len(), 6, "{ports:?}");
    let urls = cluster.urls();
    for (url, port) in urls.iter().zip(&ports) {
        assert_eq!(url, &format!("redis://127.0.0.1:{port}"));
    }

    let primaries = cluster.primaries();
    assert_eq!(primaries.len(), 3, "{primaries:?}");
    // urls() lists the primaries first.
    let first_three: BTreeSet<_> = ports[..3].iter().copied().collect();
    assert_eq!(first_three, primaries.iter().copied().collect());
    let mut seen = BTreeSet::new();
    for &primary in &primaries {
        let replicas = cluster.replicas_of(primary);
        assert_eq!(replicas.len(), 1, "replicas of {primary}: {replicas:?}");
        let replica = replicas[0];
        assert!(!primaries.contains(&replica));
        assert!(seen.insert(replica), "{replica} replicates two primaries");
        let role: String = redis::cmd("INFO")
            .arg("replication")
            .query(&mut cluster.conn(replica))
            .unwrap();
        assert_eq!(info_line(&role, "role"), "slave", "{role}");
        assert_eq!(
            info_line(&role, "master_port"),
            primary.to_string(),
            "{role}"
        );
        assert_eq!(info_line(&role, "master_link_status"), "up", "{role}");
    }
    assert_eq!(seen.len(), 3);

    for &port in &ports {
        let info = cluster_info(&mut cluster.conn(port));
        assert_eq!(
            info_line(&info, "cluster_state"),
            "ok",
            "node {port}:\n{info}"
        );
        assert_eq!(info_line(&info, "cluster_slots_assigned"), "16384");
        assert_eq!(info_line(&info, "cluster_slots_ok"), "16384");
        assert_eq!(info_line(&info, "cluster_known_nodes"), "6");
        assert_eq!(info_line(&info, "cluster_size"), "3");
    }

    // CLUSTER SLOTS covers every slot exactly once, all served by the primaries.
    let slots: Vec<(i64, i64, (String, i64))> = {
        let raw: Vec<redis::Value> = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query(&mut cluster.conn(ports[0]))
            .unwrap();
        raw.into_iter()
            .map(|range| match range {
                redis::Value::Array(items) => {
                    let int = |v: &redis::Value| match v {
                        redis::Value::Int(i) => *i,
                        other => panic!("not an integer: {other:?}"),
                    };
                    let primary = match &items[2] {
                        redis::Value::Array(p) => {
                            (redis::from_redis_value_ref(&p[0]).unwrap(), int(&p[1]))
                        }
                        other => panic!("not a node: {other:?}"),
                    };
                    (int(&items[0]), int(&items[1]), primary)
                }
                other => panic!("not a slot range: {other:?}"),
            })
            .collect()
    };
    let mut covered = vec![0u8; 16384];
    let mut owners = BTreeSet::new();
    for (start, end, (host, port)) in &slots {
        assert_eq!(host, "127.0.0.1");
        owners.insert(u16::try_from(*port).unwrap());
        for slot in *start..=*end {
            covered[slot as usize] += 1;
        }
    }
    assert!(
        covered.iter().all(|&n| n == 1),
        "slots not covered exactly once: {slots:?}"
    );
    assert_eq!(owners, primaries.iter().copied().collect());
}

#[test]
fn keys_land_on_the_node_that_node_for_key_names() {
    let cluster = TestCluster::start();
    let primaries = cluster.primaries();
    let mut conn = cluster.cluster_client().get_connection().unwrap();
    let mut raw: BTreeMap<u16, redis::Connection> =
        primaries.iter().map(|&p| (p, cluster.conn(p))).collect();

    const KEYS: usize = 1000;
    let mut expected: BTreeMap<u16, usize> = BTreeMap::new();
    for i in 0..KEYS {
        let key = format!("fs:v1:cluster_harness:{i}");
        let _: () = conn.hset(&key, "n", i).unwrap();
        let owner = cluster.node_for_key(&key);
        assert!(
            primaries.contains(&owner),
            "{key} -> {owner}, not a primary {primaries:?}"
        );
        *expected.entry(owner).or_default() += 1;
        // A plain connection to the owner has it (a wrong node would answer MOVED).
        let exists: bool = raw.get_mut(&owner).unwrap().exists(&key).unwrap();
        assert!(exists, "{key} is not on node {owner}");
    }
    // Hash tags keep keys together.
    assert_eq!(
        cluster.node_for_key("fs:v1:{user-42}:a"),
        cluster.node_for_key("fs:v1:{user-42}:b")
    );

    assert_eq!(
        expected.len(),
        3,
        "keys did not spread over all primaries: {expected:?}"
    );
    for (&primary, &count) in &expected {
        let dbsize: usize = redis::cmd("DBSIZE")
            .query(raw.get_mut(&primary).unwrap())
            .unwrap();
        assert_eq!(dbsize, count, "DBSIZE of primary {primary}");
        assert!(count > KEYS / 10, "{expected:?}");
        // And its replica gets them all too.
        let acked: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(10_000)
            .query(raw.get_mut(&primary).unwrap())
            .unwrap();
        assert_eq!(
            acked, 1,
            "replica of {primary} did not acknowledge the writes"
        );
        let replica = cluster.replicas_of(primary)[0];
        let dbsize: usize = redis::cmd("DBSIZE")
            .query(&mut cluster.conn(replica))
            .unwrap();
        assert_eq!(dbsize, count, "DBSIZE of replica {replica} of {primary}");
    }
    assert_eq!(expected.values().sum::<usize>(), KEYS);

    // A plain connection to a node that does not serve the key is redirected.
    let key = "fs:v1:cluster_harness:0";
    let owner = cluster.node_for_key(key);
    let other = *primaries.iter().find(|&&p| p != owner).unwrap();
    let moved: redis::RedisResult<bool> = cluster.conn(other).exists(key);
    let err = moved.expect_err("a non-owner answered for the key");
    let (to, _slot) = err
        .redirect_node()
        .unwrap_or_else(|| panic!("not a MOVED redirect: {err}"));
    assert_eq!(to, format!("127.0.0.1:{owner}"), "{err}");
}

#[test]
fn killed_primary_fails_over_to_its_replica() {
    let mut cluster = TestCluster::start();
    let key = "fs:v1:cluster_harness:failover";
    let mut conn = cluster.cluster_client().get_connection().unwrap();
    let _: () = conn.hset(key, "age", 28).unwrap();

    let old_primary = cluster.node_for_key(key);
    let replicas = cluster.replicas_of(old_primary);
    assert_eq!(replicas.len(), 1, "{replicas:?}");
    let replica = replicas[0];
    // The replica has the key before its primary dies.
    let acked: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(10_000)
        .query(&mut cluster.conn(old_primary))
        .unwrap();
    assert_eq!(acked, 1);

    cluster.kill(old_primary);
    let new_primary = cluster.wait_for_failover(old_primary);
    assert_eq!(new_primary, replica);
    assert_eq!(cluster.node_for_key(key), new_primary);
    let primaries = cluster.primaries();
    assert!(primaries.contains(&new_primary), "{primaries:?}");
    assert!(!primaries.contains(&old_primary), "{primaries:?}");
    assert_eq!(primaries.len(), 3, "{primaries:?}");
    let raw: Option<i64> = cluster.conn(new_primary).hget(key, "age").unwrap();
    assert_eq!(raw, Some(28));

    // The cluster client reads the key again, within a bounded retry loop (a
    // fresh connection after an error, so that it reloads the slot map).
    let client = cluster.cluster_client();
    let deadline = Instant::now() + READ_AGAIN_TIMEOUT;
    let value = loop {
        let err = match conn.hget::<_, _, Option<i64>>(key, "age") {
            Ok(value) => break value,
            Err(err) => err,
        };
        assert!(
            Instant::now() < deadline,
            "the cluster client could not read {key} within {READ_AGAIN_TIMEOUT:?} after the failover: {err}"
        );
        thread::sleep(Duration::from_millis(50));
        if let Ok(fresh) = client.get_connection() {
            conn = fresh;
        }
    };
    assert_eq!(value, Some(28));

    // The old primary comes back as the new primary's replica.
    cluster.restart(old_primary);
    cluster.wait_healthy();
    assert_eq!(cluster.replicas_of(new_primary), vec![old_primary]);
    assert_eq!(cluster.primaries(), primaries);
    let replicated: Option<i64> = redis::cmd("HGET")
        .arg(key)
        .arg("age")
        .query(&mut {
            let mut c = cluster.conn(old_primary);
            redis::cmd("READONLY").exec(&mut c).unwrap();
            c
        })
        .unwrap();
    assert_eq!(replicated, Some(28));
}

#[test]
fn nodes_are_killed_and_dirs_removed_on_drop() {
    let cluster = TestCluster::start();
    let ports = cluster.ports();
    let dirs: Vec<_> = ports
        .iter()
        .map(|&p| cluster.dir(p).to_path_buf())
        .collect();
    assert!(
        dirs.iter().all(|d| d.join("nodes.conf").is_file()),
        "{dirs:?}"
    );
    assert!(cluster.log().contains("Cluster state changed: ok"));
    drop(cluster);
    for dir in &dirs {
        assert!(!dir.exists(), "{} still exists", dir.display());
    }
    for port in ports {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
        assert!(
            client
                .get_connection_with_timeout(Duration::from_secs(1))
                .is_err(),
            "node {port} still answers"
        );
    }
}
