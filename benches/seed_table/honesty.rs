//! Honesty checks: both sides of a row send the same commands, store the same bytes and decode
//! the same values.

use std::collections::HashMap;

use fstore::{FeatureVector as _, FeatureView as _, Store};
use redis::aio::MultiplexedConnection;

use crate::hand;
use crate::views::{Fraud, Two, UserProfile};

pub fn check_commands() {
    assert_eq!(
        UserProfile::READ_FIELDS,
        hand::PROFILE_FIELDS,
        "hand-written HMGET fields differ from fstore's"
    );
    assert_eq!(Two::READ_FIELDS, hand::TWO_FIELDS);
    let views: Vec<(&str, &[&str])> = Fraud::VIEWS
        .iter()
        .map(|v| (v.name, v.read_fields))
        .collect();
    assert_eq!(
        views,
        [
            ("user_profile", &hand::VEC_PROFILE[..]),
            ("user_risk_profile", &hand::VEC_RISK[..]),
            ("user_activity", &hand::VEC_ACTIVITY[..]),
        ],
        "hand-written vector pipeline differs from fstore's"
    );
}

/// Every stored field of the profiles of `ids` except `_updated_at`, and whether each has a TTL
/// of at most an hour.
pub async fn stored(
    conn: &mut MultiplexedConnection,
    ids: &[&str],
) -> Vec<(HashMap<String, Vec<u8>>, bool)> {
    let mut out = Vec::new();
    for id in ids {
        let key = format!("fs:v1:user_profile:{id}");
        let mut map: HashMap<String, Vec<u8>> = redis::cmd("HGETALL")
            .arg(&key)
            .query_async(conn)
            .await
            .expect("HGETALL");
        assert!(
            map.remove("_updated_at").is_some(),
            "{key}: no _updated_at in {map:?}"
        );
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(conn)
            .await
            .expect("PTTL");
        out.push((map, ttl > 0 && ttl <= 3_600_000));
    }
    out
}

pub async fn del(conn: &mut MultiplexedConnection, ids: &[&str]) {
    let keys: Vec<String> = ids
        .iter()
        .map(|id| format!("fs:v1:user_profile:{id}"))
        .collect();
    let _: i64 = redis::cmd("DEL")
        .arg(&keys)
        .query_async(conn)
        .await
        .expect("DEL");
}

/// Writes `rows` with each writer in turn onto deleted keys and checks that the stored hashes
/// are byte for byte the same (apart from `_updated_at`), with a TTL, and read back typed.
pub async fn check_writes(
    store: &Store,
    conn: &mut MultiplexedConnection,
    rows: &[(&str, &UserProfile)],
) {
    let ids: Vec<&str> = rows.iter().map(|(id, _)| *id).collect();
    del(conn, &ids).await;
    UserProfile::write_batch(store, rows.iter().copied())
        .await
        .expect("fstore write_batch");
    let by_fstore = stored(conn, &ids).await;
    for (name, atomic) in [("HSET+PEXPIRE", false), ("EVALSHA", true)] {
        del(conn, &ids).await;
        if atomic {
            hand::write_batch_atomic(conn, rows)
                .await
                .expect("hand EVALSHA");
        } else {
            hand::write_batch(conn, rows).await.expect("hand HSET");
        }
        let by_hand = stored(conn, &ids).await;
        for (i, (f, h)) in by_fstore.iter().zip(&by_hand).enumerate() {
            assert!(f.1 && h.1, "{}: missing TTL", ids[i]);
            assert_eq!(
                f.0, h.0,
                "{}: fstore and hand-written {name} stored different hashes",
                ids[i]
            );
        }
        let back = UserProfile::read_batch(store, &ids)
            .await
            .expect("read back");
        for ((_, row), got) in rows.iter().zip(back) {
            assert_eq!(
                got.as_ref(),
                Some(*row),
                "hand-written {name} write reads back differently"
            );
        }
    }
}
