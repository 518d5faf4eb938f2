//! The data every row reads and writes: `users` entities in the three user views, generated
//! from their index.

use fstore::Store;

use crate::views::{UserActivity, UserProfile, UserRiskProfile};

/// SplitMix64: a fixed-seed generator for ids; no `rand` crate.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Entity ids: `bench_00042`, apart from the examples' `user_…` on a shared server.
pub fn id(i: usize) -> String {
    format!("bench_{i:05}")
}

pub fn user(i: usize) -> UserProfile {
    let n = i as u32;
    UserProfile {
        age: 18 + i64::from(n % 60),
        lifetime_value: f64::from(n) * 12.5 + 0.25,
        segment: ["basic", "premium", "vip"][i % 3].to_owned(),
        is_premium: !i.is_multiple_of(3),
        // Every fifth user has no country: an absent optional feature.
        country: (!i.is_multiple_of(5)).then(|| ["DE", "FR", "NL", "US"][i % 4].to_owned()),
        days_since_signup: i64::from(n) * 3,
        embedding: (0..8).map(|k| (n * 8 + k) as f32 / 100.0).collect(),
    }
}

pub fn risk(i: usize) -> UserRiskProfile {
    UserRiskProfile {
        fraud_score: (i % 1000) as f64 / 1000.0,
        txn_count_24h: (i % 40) as i64,
        chargebacks_90d: (i % 3) as i64,
        is_flagged: i.is_multiple_of(97),
    }
}

pub fn activity(i: usize) -> UserActivity {
    UserActivity {
        sessions_7d: (i % 30) as i64,
        clicks_24h: (i % 200) as i64,
        last_category: (!i.is_multiple_of(7))
            .then(|| ["books", "electronics", "fashion", "home", "sports"][i % 5].to_owned()),
        avg_session_seconds: (i % 600) as f64 + 0.5,
    }
}

pub struct Data {
    pub ids: Vec<String>,
    pub users: Vec<UserProfile>,
    /// Indices of users with every feature present (no `HDEL` needed to write them).
    pub complete: Vec<usize>,
}

impl Data {
    pub fn new(n: usize) -> Data {
        let users: Vec<UserProfile> = (0..n).map(user).collect();
        let complete = (0..n).filter(|&i| users[i].country.is_some()).collect();
        Data {
            ids: (0..n).map(id).collect(),
            users,
            complete,
        }
    }
}

pub async fn load(store: &Store, data: &Data) {
    let n = data.ids.len();
    UserProfile::write_batch(store, data.ids.iter().zip(&data.users))
        .await
        .expect("load user_profile");
    UserRiskProfile::write_batch(store, (0..n).map(|i| (&data.ids[i], risk(i))))
        .await
        .expect("load user_risk_profile");
    UserActivity::write_batch(store, (0..n).map(|i| (&data.ids[i], activity(i))))
        .await
        .expect("load user_activity");
}
