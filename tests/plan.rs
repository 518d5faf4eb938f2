//! Without a server: the exact commands a struct emits.

mod behaviour;
mod support;

use behaviour::{AgeAndValue, UserProfile};
use fstore::{Command, FeatureView};

#[test]
fn read_is_one_hmget_of_exactly_the_fields() {
    let cmd = UserProfile::read_command("user_123").unwrap();
    assert_eq!(
        cmd.to_string(),
        "HMGET fs:v1:user_profile:user_123 age lifetime_value segment is_premium country \
         days_since_signup _updated_at"
    );
}

#[test]
fn projection_reads_only_its_fields() {
    let cmd = AgeAndValue::read_command(42u64).unwrap();
    assert_eq!(
        cmd,
        Command::hmget(
            "fs:v1:user_profile:42".to_owned(),
            &["age", "lifetime_value", "_updated_at"]
        )
    );
}

#[test]
fn write_is_one_script_call_with_fields_stamp_and_ttl() {
    let row = UserProfile {
        country: None,
        ..UserProfile::sample(8)
    };
    let cmd = row.write_command("user_123", 1_764_000_000_000).unwrap();
    assert_eq!(
        cmd.to_string(),
        format!(
            "EVALSHA {} 1 fs:v1:user_profile:user_123 3600000 6 age 28 lifetime_value 802.0 \
             segment vip is_premium true days_since_signup 56 _updated_at 1764000000.000 country",
            redis::Script::new(fstore::WRITE_SCRIPT)
                .get_hash()
                .to_owned()
        )
    );
    let Command::Write(w) = &cmd else {
        panic!("{cmd:?}")
    };
    assert_eq!(w.delete(), ["country"]);
    assert_eq!(w.ttl_ms(), 3_600_000);
}

#[test]
fn layout_constants() {
    assert_eq!(UserProfile::VIEW, "user_profile");
    assert_eq!(UserProfile::KEY_PREFIX, "fs:v1:user_profile:");
    assert_eq!(
        UserProfile::FEATURES,
        [
            "age",
            "lifetime_value",
            "segment",
            "is_premium",
            "country",
            "days_since_signup"
        ]
    );
    assert_eq!(UserProfile::TTL, std::time::Duration::from_secs(3600));
}

#[test]
fn empty_id_is_an_error_before_any_io() {
    let err = UserProfile::read_command("").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid entity id \"\" for view `user_profile`: the empty string is not an entity id"
    );
}
