//! `registry!` on a registry with an aggregation, with both options: its event and features
//! structs get the extra derives and name fstore by the `crate = ...` path (here the dependency
//! is reachable only as `my_fstore`), and every public item they add has docs.
#![deny(missing_docs)]

extern crate fstore as my_fstore;
extern crate self as fstore;

/// The generated structs.
pub mod generated {
    my_fstore::registry!(
        "aggregation.toml",
        derive(serde::Serialize),
        crate = my_fstore
    );
}

use generated::{UserTxn, UserTxnEvent};

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = my_fstore::Store::embedded();
        let now = 1_796_083_200_000;
        let event = UserTxnEvent {
            amount: 12.5,
            merchant: "m1".to_owned(),
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"amount":12.5,"merchant":"m1"}"#
        );
        let recorded = event.record_at(&store, "u1", now, now).await.unwrap();
        assert_eq!(recorded, my_fstore::Recorded::Applied);
        let features: UserTxn = UserTxn::read_at(&store, "u1", now).await.unwrap();
        let avg: Option<f64> = features.amount_avg_24h;
        assert_eq!(avg, Some(12.5));
        assert_eq!(
            serde_json::to_string(&features).unwrap(),
            r#"{"txn_count_1h":1,"amount_avg_24h":12.5,"distinct_merchants_24h":1}"#
        );
    });
}
