//! `fstore get` and `fstore stats` against a throwaway `valkey-server`: rows written by the
//! runtime, plus a malformed value, an undeclared field and a key without TTL written raw.

mod common;
#[path = "common/valkey.rs"]
mod valkey;

use std::process::Output;

use common::{command, stderr, stdout};
use fstore_runtime::registry::Registry;
use fstore_runtime::{Store, Value};
use valkey::{raw_commands, u1_profile, TestServer};

const ROOT_REGISTRY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../features.toml");

/// A server holding, in view `user_profile` (prefix `fs:v1:user_profile:`):
/// - `u1`: every feature but `is_premium` (which has a default), written by the runtime;
/// - `u2`: `age` only, written by the runtime;
/// - `u3`: `age` by the runtime, and a field `legacy_score` the registry does not declare;
/// - `bad`: `age = "abc"` (not an int) and `lifetime_value = "x"`, with a TTL, written raw;
/// - `forever`: `age` and `_updated_at`, without TTL, written raw;
///
/// and one `item_stats` row, which `stats user_profile` must not count.
fn seeded() -> TestServer {
    let server = TestServer::start();
    let url = server.url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let registry = Registry::from_path(ROOT_REGISTRY).unwrap();
        let store = Store::builder(&url)
            .build()
            .await
            .unwrap()
            .with_registry(registry);
        store
            .write("user_profile", "u1", &u1_profile())
            .await
            .unwrap();
        store
            .write("user_profile", "u2", &[("age", Value::Int(30))])
            .await
            .unwrap();
        store
            .write("user_profile", "u3", &[("age", Value::Int(41))])
            .await
            .unwrap();
        store
            .write(
                "item_stats",
                "i1",
                &[
                    ("price", Value::Float(9.5)),
                    (
                        "embedding",
                        Value::from((0..8).map(|i| i as f32 / 8.0).collect::<Vec<f32>>()),
                    ),
                ],
            )
            .await
            .unwrap();
        let commands: [&[&str]; 5] = [
            &["HSET", "fs:v1:user_profile:u3", "legacy_score", "7"],
            &[
                "HSET",
                "fs:v1:user_profile:bad",
                "age",
                "abc",
                "lifetime_value",
                "x",
                "_updated_at",
                "1796101050.697",
            ],
            &["PEXPIRE", "fs:v1:user_profile:bad", "3600000"],
            &[
                "HSET",
                "fs:v1:user_profile:forever",
                "age",
                "5",
                "_updated_at",
                "1796101050697",
            ],
            &["PERSIST", "fs:v1:user_profile:forever"],
        ];
        raw_commands(&url, &commands).await;
    });
    server
}

/// Runs `fstore` with `VALKEY_URL` set to `url` (unset when `None`).
fn fstore(url: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = command();
    cmd.args(args);
    match url {
        Some(url) => cmd.env("VALKEY_URL", url),
        None => cmd.env_remove("VALKEY_URL"),
    };
    cmd.output().unwrap()
}

/// `fstore` with the root registry: `fstore ARGS... --registry ../features.toml`.
fn fstore_ops(server: &TestServer, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--registry", ROOT_REGISTRY]);
    fstore(Some(&server.url()), &all)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(out), stderr(out)))
}

/// The number in a line `prefix<N>suffix` of `text`.
fn number_in(text: &str, prefix: &str, suffix: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{text}"));
    line[prefix.len()..]
        .strip_suffix(suffix)
        .unwrap_or_else(|| panic!("{line:?} does not end with {suffix:?}"))
        .parse()
        .unwrap()
}

#[test]
fn get_prints_values_statuses_age_and_ttl() {
    let server = seeded();
    let out = fstore_ops(&server, &["get", "user_profile", "u1"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..7],
        [
            "age = 28  (PRESENT)",
            "lifetime_value = 1250.5  (PRESENT)",
            "segment = \"premium\"  (PRESENT)",
            "is_premium = false  (PRESENT, registry default)",
            "country = \"DE\"  (PRESENT)",
            "days_since_signup = 10  (PRESENT)",
            "embedding = [0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875]  (PRESENT)",
        ],
        "{text}"
    );
    let age = number_in(&text, "updated: ", "s ago");
    assert!((0.0..60.0).contains(&age), "{text}");
    let ttl = number_in(&text, "ttl: ", "s");
    assert!(ttl > 3500.0 && ttl <= 3600.0, "{text}");
    assert_eq!(lines.len(), 9, "{text}");

    // An optional feature that is absent, and a required one.
    let out = fstore_ops(&server, &["get", "user_profile", "u2"]);
    let text = stdout(&out);
    assert!(text.contains("country = null  (NULL_VALUE)\n"), "{text}");
    assert!(text.contains("segment = null  (NOT_FOUND)\n"), "{text}");
}

#[test]
fn get_json_and_selected_features() {
    let server = seeded();
    let out = fstore_ops(
        &server,
        &[
            "get",
            "user_profile",
            "u1",
            "--features",
            "country,age",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["view"], "user_profile");
    assert_eq!(v["id"], "u1");
    assert_eq!(v["key"], "fs:v1:user_profile:u1");
    assert_eq!(v["found"], true);
    // Only the features asked for (a JSON object: the order is the text output's).
    let features = v["features"].as_object().unwrap();
    assert_eq!(features.len(), 2, "{v}");
    assert_eq!(v["features"]["age"]["value"], 28);
    assert_eq!(v["features"]["age"]["status"], "PRESENT");
    assert_eq!(v["features"]["country"]["value"], "DE");
    let age = v["age_seconds"].as_f64().unwrap();
    assert!((0.0..60.0).contains(&age), "{v}");
    assert!(v["updated_at"].as_f64().unwrap() > 1.7e9, "{v}");
    let ttl = v["ttl_ms"].as_u64().unwrap();
    assert!(ttl > 3_500_000 && ttl <= 3_600_000, "{v}");
    assert_eq!(v["expiry"], "expires");
    // Text in the order asked for.
    let out = fstore_ops(
        &server,
        &["get", "user_profile", "u1", "--features", "country,age"],
    );
    assert!(
        stdout(&out).starts_with("country = \"DE\"  (PRESENT)\nage = 28  (PRESENT)\nupdated: "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn get_a_key_without_ttl_and_a_stamp_in_milliseconds() {
    let server = seeded();
    let out = fstore_ops(
        &server,
        &["get", "user_profile", "forever", "--features", "age"],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.starts_with("age = 5  (PRESENT)\nupdated: "), "{text}");
    assert!(text.ends_with("s ago\nttl: no expiry\n"), "{text}");
    let v = json(&fstore_ops(
        &server,
        &["get", "user_profile", "forever", "--json"],
    ));
    assert_eq!(v["updated_at"], 1796101050.697);
    assert_eq!(v["ttl_ms"], serde_json::Value::Null);
    assert_eq!(v["expiry"], "none");
}

#[test]
fn get_a_missing_entity_exits_1() {
    let server = seeded();
    let out = fstore_ops(&server, &["get", "user_profile", "nobody"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "not found: fs:v1:user_profile:nobody\n");

    let out = fstore_ops(&server, &["get", "user_profile", "nobody", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["found"], false);
    assert_eq!(v["key"], "fs:v1:user_profile:nobody");
    assert_eq!(v["features"], serde_json::json!({}));
    assert_eq!(v["expiry"], "missing");
}

#[test]
fn get_unknown_names_exit_2_with_a_suggestion() {
    let server = seeded();
    let out = fstore_ops(&server, &["get", "user_profil", "u1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "error: unknown view `user_profil`; did you mean `user_profile`?\n"
    );

    let out = fstore_ops(
        &server,
        &["get", "user_profile", "u1", "--features", "agee"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: unknown feature `agee`; did you mean `age`?\n"
    );

    // A value that does not decode is the runtime's error, naming key, field and type.
    let out = fstore_ops(&server, &["get", "user_profile", "bad"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cannot decode feature `age` of `fs:v1:user_profile:bad`"),
        "{err}"
    );
}

#[test]
fn without_a_url_get_and_stats_exit_2() {
    for args in [
        &["get", "user_profile", "u1"][..],
        &["stats", "user_profile"],
    ] {
        let out = fstore(None, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(stdout(&out), "");
        let err = stderr(&out);
        assert!(
            err.starts_with("error: no server to read:")
                && err.contains("--url")
                && err.contains("VALKEY_URL"),
            "{err}"
        );
    }
}

#[test]
fn url_flag_overrides_the_environment() {
    let server = seeded();
    let out = fstore(
        Some("redis://127.0.0.1:1"),
        &[
            "get",
            "user_profile",
            "u2",
            "--url",
            &server.url(),
            "--registry",
            ROOT_REGISTRY,
            "--features",
            "age",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("age = 30  (PRESENT)\n"));

    // And an unreachable server is exit 2.
    let out = fstore(
        Some("redis://127.0.0.1:1"),
        &["get", "user_profile", "u2", "--registry", ROOT_REGISTRY],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
}

#[test]
fn stats_reports_ttls_coverage_drift_and_malformed_values() {
    let server = seeded();
    let out = fstore_ops(&server, &["stats", "user_profile"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.starts_with("view user_profile (keys fs:v1:user_profile:*)\n"),
        "{text}"
    );
    assert!(
        text.contains("keys: 5 (scan complete), 5 entities\n"),
        "{text}"
    );
    assert!(text.contains("(4 keys)\n"), "{text}");
    assert!(
        text.contains(
            "WARNING: 1 key without TTL (they never expire): fs:v1:user_profile:forever\n"
        ),
        "{text}"
    );
    assert!(text.contains("  age: 5/5 (100.0%)\n"), "{text}");
    assert!(text.contains("  lifetime_value: 2/5 (40.0%)\n"), "{text}");
    assert!(text.contains("  country: 1/5 (20.0%)\n"), "{text}");
    assert!(text.contains("  is_premium: 0/5 (0.0%)\n"), "{text}");
    assert!(
        text.contains(
            "WARNING: drift: stored fields the registry does not declare:\n  legacy_score: 1/5 entities\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("WARNING: malformed values (do not decode as the registry type):\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  age: 1 entity, first: cannot decode feature `age` of `fs:v1:user_profile:bad`"
        ),
        "{text}"
    );
    assert!(
        text.contains("  lifetime_value: 1 entity, first: cannot decode feature `lifetime_value`"),
        "{text}"
    );
    assert!(text.contains("memory: mean "), "{text}");
    assert!(text.contains("(5 keys measured)\n"), "{text}");

    let out = fstore_ops(&server, &["stats", "user_profile", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["keys"], 5);
    assert_eq!(v["complete"], true);
    assert_eq!(v["entities"], 5);
    assert_eq!(v["without_ttl"]["count"], 1);
    assert_eq!(
        v["without_ttl"]["keys"],
        serde_json::json!(["fs:v1:user_profile:forever"])
    );
    assert_eq!(v["ttl"]["keys"], 4);
    let (min, max) = (
        v["ttl"]["min_seconds"].as_f64().unwrap(),
        v["ttl"]["max_seconds"].as_f64().unwrap(),
    );
    assert!(3500.0 < min && min <= max && max <= 3600.0, "{v}");
    assert_eq!(v["coverage"]["age"]["entities"], 5);
    assert_eq!(v["coverage"]["age"]["share"], 1.0);
    assert_eq!(v["coverage"]["country"]["share"], 0.2);
    assert_eq!(v["drift"], serde_json::json!({ "legacy_score": 1 }));
    assert_eq!(v["malformed"]["age"]["entities"], 1);
    assert_eq!(v["malformed"]["lifetime_value"]["entities"], 1);
    assert_eq!(v["malformed"].as_object().unwrap().len(), 2);
    assert_eq!(v["memory"]["keys"], 5);
    let (mean, max) = (
        v["memory"]["mean_bytes"].as_u64().unwrap(),
        v["memory"]["max_bytes"].as_u64().unwrap(),
    );
    assert!(0 < mean && mean <= max, "{v}");
}

#[test]
fn stats_stops_at_the_sample_and_says_so() {
    let server = seeded();
    let out = fstore_ops(&server, &["stats", "user_profile", "--sample", "2"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.contains(
            "keys: 2 sampled, 2 entities (scan stopped early at --sample 2; there are more)\n"
        ),
        "{text}"
    );
    let v = json(&fstore_ops(
        &server,
        &["stats", "user_profile", "--sample", "2", "--json"],
    ));
    assert_eq!(v["keys"], 2);
    assert_eq!(v["complete"], false);

    // A clean view, and an unknown one.
    let text = stdout(&fstore_ops(&server, &["stats", "item_stats"]));
    assert!(
        text.contains("keys: 1 (scan complete), 1 entity\n"),
        "{text}"
    );
    assert!(!text.contains("WARNING"), "{text}");
    let out = fstore_ops(&server, &["stats", "item_stat"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: unknown view `item_stat`; did you mean `item_stats`?\n"
    );
}
