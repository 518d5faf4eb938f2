//! Real-time aggregations in `features.toml` (`[aggregations.NAME]`): the model a valid
//! declaration parses into, the bucket size each window is read at, one test per rule of the
//! validator pinning the exact diagnostic (`file:line:column: message`), and the fingerprint.

mod common;

use common::{errors, parse_ok, variant, FILE};

use fstore_registry::{
    AggFunction, FeatureType, Location, Registry, MAX_BUCKETS_PER_WINDOW, MAX_GRANULARITIES,
};

/// An entity `user` and an aggregation `txn` with granularity `["1m", "1h"]` and the event fields
/// `amount` (float), `merchant` (string), `n` (int) and `flag` (bool), whose features table holds
/// `features`; the first feature is on line 11.
fn with_features(features: &str) -> String {
    format!(
        "[entities.user]\n\
         [aggregations.txn]\n\
         entity = \"user\"\n\
         granularity = [\"1m\", \"1h\"]\n\
         [aggregations.txn.event]\n\
         amount = \"float\"\n\
         merchant = \"string\"\n\
         n = \"int\"\n\
         flag = \"bool\"\n\
         [aggregations.txn.features]\n\
         {features}"
    )
}

/// An entity `user` and an aggregation `txn` whose table body is `body`, starting on line 3.
fn with_aggregation(body: &str) -> String {
    format!("[entities.user]\n[aggregations.txn]\n{body}")
}

/// An aggregation `txn` with `granularity = {granularity}` on line 4 (the value at column 15)
/// and one feature, a count over `window`.
fn with_granularity(granularity: &str, window: &str) -> String {
    with_aggregation(&format!(
        "entity = \"user\"\ngranularity = {granularity}\n\
         features = {{ n = {{ fn = \"count\", window = {window} }} }}\n"
    ))
}

/// An aggregation `txn` counting over an hour at `["1m", "1h"]`, whose event table holds
/// `fields`; the first field is on line 7.
fn with_event(fields: &str) -> String {
    with_aggregation(&format!(
        "entity = \"user\"\ngranularity = [\"1m\", \"1h\"]\n\
         features = {{ n = {{ fn = \"count\", window = \"1h\" }} }}\n\
         [aggregations.txn.event]\n{fields}"
    ))
}

/// A count over `window` with `granularity`, on line 11: the window's value is at column 30.
fn window_errors(granularity: &str, window: &str) -> String {
    errors(&variant(
        &with_features(&format!("x = {{ fn = \"count\", window = {window} }}\n")),
        "granularity = [\"1m\", \"1h\"]",
        &format!("granularity = {granularity}"),
    ))
}

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

const FIXTURE: &str = include_str!("fixtures/aggregations.toml");

#[test]
fn the_declaration_parses_into_the_model() {
    let r = parse_ok(FIXTURE);
    let names: Vec<&str> = r.aggregations.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["user_txn", "user_logins"]);
    assert_eq!(r.views.len(), 1);

    let a = r.aggregation("user_txn").unwrap();
    assert_eq!(a.entity, "user");
    assert_eq!(a.granularity_ms, [60_000, 3_600_000]);
    assert_eq!(a.description.as_deref(), Some("Card transactions"));
    assert_eq!(
        a.location,
        Location {
            line: 13,
            column: 15
        }
    );

    let event: Vec<(&str, FeatureType, Option<&str>, usize)> = a
        .event
        .iter()
        .map(|e| {
            (
                e.name.as_str(),
                e.ty,
                e.description.as_deref(),
                e.location.line,
            )
        })
        .collect();
    assert_eq!(
        event,
        [
            ("amount", FeatureType::Float, None, 19),
            ("merchant", FeatureType::String, Some("Merchant id"), 20),
            ("items", FeatureType::Int, None, 21),
            ("card_present", FeatureType::Bool, None, 22),
        ]
    );
    assert_eq!(a.event_field("items").unwrap().ty, FeatureType::Int);
    assert!(a.event_field("nope").is_none());

    // (name, fn, of, window ms, window text, resolution ms, buckets, Rust type)
    type Row<'a> = (
        &'a str,
        AggFunction,
        Option<&'a str>,
        u64,
        &'a str,
        u64,
        u32,
        &'static str,
    );
    const M: u64 = 60_000;
    const H: u64 = 3_600_000;
    let features: Vec<Row<'_>> = a
        .features
        .iter()
        .map(|f| {
            (
                f.name.as_str(),
                f.function,
                f.of.as_deref(),
                f.window_ms,
                f.window_text.as_str(),
                f.resolution_ms,
                f.buckets,
                a.result_rust_type(f),
            )
        })
        .collect();
    use AggFunction as F;
    let expected: [Row<'_>; 10] = [
        ("txn_count_10m", F::Count, None, 10 * M, "10m", M, 10, "i64"),
        ("txn_count_1h", F::Count, None, H, "1h", M, 60, "i64"),
        (
            "amount_sum_1h",
            F::Sum,
            Some("amount"),
            H,
            "1h",
            M,
            60,
            "f64",
        ),
        (
            "amount_avg_24h",
            F::Avg,
            Some("amount"),
            24 * H,
            "24h",
            H,
            24,
            "Option<f64>",
        ),
        (
            "amount_max_24h",
            F::Max,
            Some("amount"),
            24 * H,
            "24h",
            H,
            24,
            "Option<f64>",
        ),
        (
            "items_min_1h",
            F::Min,
            Some("items"),
            H,
            "1h",
            M,
            60,
            "Option<i64>",
        ),
        (
            "items_sum_24h",
            F::Sum,
            Some("items"),
            24 * H,
            "24h",
            H,
            24,
            "i64",
        ),
        (
            "last_merchant_24h",
            F::Last,
            Some("merchant"),
            24 * H,
            "24h",
            H,
            24,
            "Option<String>",
        ),
        (
            "last_card_present_10m",
            F::Last,
            Some("card_present"),
            10 * M,
            "10m",
            M,
            10,
            "Option<bool>",
        ),
        (
            "distinct_merchants_24h",
            F::Distinct,
            Some("merchant"),
            24 * H,
            "24h",
            H,
            24,
            "u64",
        ),
    ];
    assert_eq!(features, expected);
    let avg = a.feature("amount_avg_24h").unwrap();
    assert_eq!(avg.description.as_deref(), Some("Mean amount, EUR"));
    assert_eq!(
        avg.location,
        Location {
            line: 28,
            column: 1
        }
    );
    assert_eq!(a.of_type(avg), Some(FeatureType::Float));
    assert_eq!(a.of_type(a.feature("txn_count_1h").unwrap()), None);
    assert_eq!(a.feature_names().count(), 10);
    assert!(a.feature("nope").is_none());

    assert_eq!(a.longest_window_ms(), 24 * H);
    assert_eq!(a.resolutions_used(), [M, H]);
    assert_eq!(a.retention_buckets(M), 60);
    assert_eq!(a.retention_buckets(H), 24);
    assert_eq!(a.retention_buckets(1_000), 0);

    let logins = r.aggregation("user_logins").unwrap();
    assert_eq!(logins.granularity_ms, [M]);
    assert!(logins.event.is_empty());
    assert_eq!(logins.description, None);
    let l = logins.feature("logins_1h").unwrap();
    assert_eq!(
        (
            l.window_ms,
            l.window_text.as_str(),
            l.resolution_ms,
            l.buckets
        ),
        (H, "3600s", M, 60)
    );
    assert_eq!(logins.resolutions_used(), [M]);
    assert_eq!(
        logins.location,
        Location {
            line: 36,
            column: 15
        }
    );
    assert!(r.aggregation("user_profile").is_none());
    assert!(r.view("user_txn").is_none());
    // Aggregations share the key namespace of views.
    assert_eq!(r.key_prefix("user_txn"), "fs:v1:user_txn:");
}

#[test]
fn a_registry_without_aggregations_has_none() {
    let r = parse_ok("[entities.user]\n");
    assert!(r.aggregations.is_empty());
}

#[test]
fn a_window_is_read_at_the_finest_granularity_that_fits_64_buckets() {
    // (granularity, window, resolution, buckets)
    let cases = [
        ("[\"1m\", \"1h\"]", "\"10m\"", "1m", 10),
        ("[\"1m\", \"1h\"]", "\"1h\"", "1m", 60),
        ("[\"1m\", \"1h\"]", "\"64m\"", "1m", 64),
        ("[\"1m\", \"1h\"]", "\"2h\"", "1h", 2),
        ("[\"1m\", \"1h\"]", "\"24h\"", "1h", 24),
        ("[\"1m\", \"1h\"]", "\"1m\"", "1m", 1),
        ("[\"1m\", \"1h\", \"1d\"]", "\"7d\"", "1d", 7),
        ("[\"1m\", \"1h\", \"1d\"]", "\"64h\"", "1h", 64),
        ("[\"1m\", \"5m\", \"1h\"]", "\"90m\"", "5m", 18),
        ("[\"10s\", \"1m\"]", "\"10m\"", "10s", 60),
        ("[\"10s\", \"1m\"]", "\"11m\"", "1m", 11),
        ("\"1s\"", "\"64s\"", "1s", 64),
        ("[60, 3600]", "86400", "1h", 24),
        ("\"1d\"", "\"36500d\"", "1d", 0),
    ];
    let ms = |text: &str| fstore_registry::parse_seconds(text).unwrap() * 1_000;
    for (granularity, window, resolution, buckets) in cases {
        let src = with_granularity(granularity, window);
        if buckets == 0 {
            // 100 years in days is 36500 buckets: an error.
            assert!(Registry::parse(&src, FILE).is_err(), "{src}");
            continue;
        }
        let r = parse_ok(&src);
        let f = &r.aggregations[0].features[0];
        assert_eq!(
            (f.resolution_ms, f.buckets),
            (ms(resolution), buckets),
            "{granularity} {window}"
        );
        assert_eq!(f.window_ms, f.resolution_ms * u64::from(f.buckets));
        assert!(f.buckets <= MAX_BUCKETS_PER_WINDOW);
    }
    assert_eq!(MAX_BUCKETS_PER_WINDOW, 64);
    assert_eq!(MAX_GRANULARITIES, 4);
}

#[test]
fn four_granularities_are_accepted() {
    let r = parse_ok(&with_granularity(
        "[\"1s\", \"1m\", \"1h\", \"1d\"]",
        "\"30s\"",
    ));
    assert_eq!(
        r.aggregations[0].granularity_ms,
        [1_000, 60_000, 3_600_000, 86_400_000]
    );
}

#[test]
fn the_event_table_is_optional_and_may_be_empty() {
    let r = parse_ok(&with_granularity("\"1m\"", "\"1h\""));
    assert!(r.aggregations[0].event.is_empty());
    let r = parse_ok(&with_event(""));
    assert!(r.aggregations[0].event.is_empty());
}

#[test]
fn a_feature_may_be_named_like_an_event_field() {
    // Event fields are written and features read: the names do not meet.
    let r = parse_ok(&with_features(
        "amount = { fn = \"sum\", of = \"amount\", window = \"1h\" }\n",
    ));
    let a = &r.aggregations[0];
    assert_eq!(a.feature("amount").unwrap().of.as_deref(), Some("amount"));
    assert_eq!(a.event_field("amount").unwrap().ty, FeatureType::Float);
}

#[test]
fn keyword_names_are_accepted() {
    let r = parse_ok(&with_event("type = \"int\"\n"));
    assert_eq!(r.aggregations[0].event[0].name, "type");
    let r = parse_ok(&with_features(
        "match = { fn = \"count\", window = \"1h\" }\n",
    ));
    assert_eq!(r.aggregations[0].features[0].name, "match");
}

#[test]
fn an_aggregation_can_be_written_as_dotted_tables() {
    let r = parse_ok(
        "[entities.user]\n\
         [aggregations.txn.features.n]\n\
         fn = \"count\"\n\
         window = \"1h\"\n\
         [aggregations.txn]\n\
         entity = \"user\"\n\
         granularity = \"1m\"\n",
    );
    assert_eq!(r.aggregations[0].features[0].buckets, 60);
}

#[test]
fn functions_have_names_and_result_types() {
    use AggFunction as F;
    use FeatureType as T;
    assert_eq!(
        AggFunction::names(),
        ["count", "sum", "avg", "min", "max", "last", "distinct"]
    );
    for f in AggFunction::ALL {
        assert_eq!(AggFunction::from_name(f.name()), Some(f));
    }
    assert_eq!(AggFunction::from_name("Count"), None);
    assert!(!F::Count.takes_of());
    assert!(F::ALL[1..].iter().all(|f| f.takes_of()));

    let table = [
        (F::Count, None, "i64"),
        (F::Sum, Some(T::Int), "i64"),
        (F::Sum, Some(T::Float), "f64"),
        (F::Avg, Some(T::Int), "Option<f64>"),
        (F::Avg, Some(T::Float), "Option<f64>"),
        (F::Min, Some(T::Int), "Option<i64>"),
        (F::Min, Some(T::Float), "Option<f64>"),
        (F::Max, Some(T::Int), "Option<i64>"),
        (F::Max, Some(T::Float), "Option<f64>"),
        (F::Last, Some(T::Int), "Option<i64>"),
        (F::Last, Some(T::Float), "Option<f64>"),
        (F::Last, Some(T::String), "Option<String>"),
        (F::Last, Some(T::Bool), "Option<bool>"),
        (F::Distinct, Some(T::Int), "u64"),
        (F::Distinct, Some(T::String), "u64"),
    ];
    for (f, of, rust) in table {
        assert_eq!(f.result_rust_type(of), rust, "{f:?} over {of:?}");
        if let Some(ty) = of {
            assert!(f.accepts(ty), "{f:?} over {ty:?}");
        }
    }
    let rejected = [
        (F::Count, T::Int),
        (F::Sum, T::String),
        (F::Sum, T::Bool),
        (F::Avg, T::String),
        (F::Min, T::Bool),
        (F::Max, T::String),
        (F::Distinct, T::Float),
        (F::Distinct, T::Bool),
        (F::Last, T::FloatList),
    ];
    for (f, ty) in rejected {
        assert!(!f.accepts(ty), "{f:?} over {ty:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The aggregation: name, entity, keys, tables
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_entity_did_you_mean() {
    assert_eq!(
        errors(
            &with_granularity("\"1m\"", "\"1h\"").replace("entity = \"user\"", "entity = \"usr\"")
        ),
        "features.toml:3:10: aggregation `txn` names unknown entity `usr`; did you mean `user`? \
         (declare entities as `[entities.usr]`)"
    );
}

#[test]
fn unknown_entity_lists_entities() {
    assert_eq!(
        errors(
            &with_granularity("\"1m\"", "\"1h\"").replace("entity = \"user\"", "entity = \"zzz\"")
        ),
        "features.toml:3:10: aggregation `txn` names unknown entity `zzz`; expected `user` \
         (declare entities as `[entities.zzz]`)"
    );
}

#[test]
fn missing_entity() {
    assert_eq!(
        errors(&with_aggregation(
            "granularity = \"1m\"\nfeatures = { n = { fn = \"count\", window = \"1h\" } }\n"
        )),
        "features.toml:2:15: aggregation `txn` has no `entity`; add `entity = \"...\"` naming \
         one of `[entities]`"
    );
}

#[test]
fn aggregation_name_not_an_identifier() {
    assert_eq!(
        errors(
            &with_granularity("\"1m\"", "\"1h\"")
                .replace("aggregations.txn", "aggregations.user-txn")
        ),
        "features.toml:2:15: invalid aggregation name: `user-txn` is not an identifier: use \
         ASCII letters, digits and `_`, not starting with a digit"
    );
}

#[test]
fn aggregation_name_must_give_a_struct_name() {
    assert_eq!(
        errors(&with_granularity("\"1m\"", "\"1h\"").replace("aggregations.txn", "aggregations._")),
        "features.toml:2:15: invalid aggregation name: `_` is a Rust keyword that cannot be a \
         field or struct name"
    );
    assert_eq!(
        errors(
            &with_granularity("\"1m\"", "\"1h\"").replace("aggregations.txn", "aggregations.__1")
        ),
        "features.toml:2:15: invalid aggregation name: `__1` would generate the struct `1`, \
         which is not an identifier; start the name with a letter"
    );
}

#[test]
fn aggregation_named_like_a_view() {
    let src = "[entities.user]\n\
               [views.txn]\n\
               entity = \"user\"\n\
               ttl = \"1h\"\n\
               features = { x = \"int\" }\n\
               [aggregations.txn]\n\
               entity = \"user\"\n\
               granularity = \"1m\"\n\
               features = { n = { fn = \"count\", window = \"1h\" } }\n";
    assert_eq!(
        errors(src),
        "features.toml:6:15: aggregation `txn` has the same name as view `txn`; views and \
         aggregations share the key namespace (`…:txn:<entity id>`): rename one of them"
    );
    // Also a view that is itself invalid: the name is taken all the same.
    assert!(errors(&src.replace("ttl = \"1h\"\n", ""))
        .contains("aggregation `txn` has the same name as view `txn`"));
}

#[test]
fn aggregation_and_view_generating_the_same_struct() {
    let src = "[entities.user]\n\
               [views.user__txn]\n\
               entity = \"user\"\n\
               ttl = \"1h\"\n\
               features = { x = \"int\" }\n\
               [aggregations.user_txn]\n\
               entity = \"user\"\n\
               granularity = \"1m\"\n\
               features = { n = { fn = \"count\", window = \"1h\" } }\n";
    assert_eq!(
        errors(src),
        "features.toml:6:15: view `user__txn` and aggregation `user_txn` would both generate \
         the struct `UserTxn`; rename one of them"
    );
}

#[test]
fn aggregations_generating_the_same_struct() {
    let one = "entity = \"user\"\ngranularity = \"1m\"\nfeatures = { n = { fn = \"count\", window = \"1h\" } }\n";
    let src = format!("[entities.user]\n[aggregations.a_b]\n{one}[aggregations.a__b]\n{one}");
    assert_eq!(
        errors(&src),
        "features.toml:6:15: aggregations `a_b` and `a__b` would both generate the struct `AB`; \
         rename one of them"
    );
}

#[test]
fn aggregation_named_like_an_entity() {
    assert_eq!(
        errors(
            &with_granularity("\"1m\"", "\"1h\"").replace("aggregations.txn", "aggregations.user")
        ),
        "features.toml:2:15: aggregation `user` has the same name as entity `user`; name it for \
         its events instead, such as `user_events`"
    );
}

#[test]
fn duplicate_aggregation() {
    assert_eq!(
        errors("[entities.user]\n[aggregations.txn]\nentity = \"user\"\n[aggregations.txn]\n"),
        "features.toml:4:15: invalid TOML: duplicate key `txn`; a view, an aggregation, an \
         entity, a feature and an event field can each be defined once"
    );
}

#[test]
fn duplicate_setting_has_no_definition_hint() {
    assert_eq!(
        errors(&with_features(
            "x = { fn = \"count\", window = \"1h\", window = \"2h\" }\n"
        )),
        "features.toml:11:36: invalid TOML: duplicate key `window`"
    );
}

#[test]
fn unknown_key_in_aggregation_did_you_mean() {
    assert_eq!(
        errors(&with_aggregation(
            "entity = \"user\"\ngranularity = \"1m\"\ngranularty = \"1h\"\n\
             features = { n = { fn = \"count\", window = \"1h\" } }\n"
        )),
        "features.toml:5:1: unknown key `granularty` in aggregation `txn`; did you mean \
         `granularity`?"
    );
}

#[test]
fn unknown_key_in_aggregation_lists_keys() {
    assert_eq!(
        errors(&with_aggregation(
            "entity = \"user\"\ngranularity = \"1m\"\nttl = \"1h\"\n\
             features = { n = { fn = \"count\", window = \"1h\" } }\n"
        )),
        "features.toml:5:1: unknown key `ttl` in aggregation `txn`; expected one of `entity`, \
         `granularity`, `description`, `event`, `features`"
    );
}

#[test]
fn unknown_key_in_feature() {
    assert_eq!(
        errors(&with_features(
            "x = { fn = \"count\", window = \"1h\", windw = \"2h\" }\n"
        )),
        "features.toml:11:36: unknown key `windw` in feature `x` of aggregation `txn`; did you \
         mean `window`?"
    );
}

#[test]
fn unknown_key_in_event_field() {
    assert_eq!(
        errors(&with_event("x = { type = \"int\", default = 0 }\n")),
        "features.toml:7:21: unknown key `default` in event field `x` of aggregation `txn`; \
         expected one of `type`, `description`"
    );
}

#[test]
fn aggregations_and_their_parts_must_be_tables() {
    assert_eq!(
        errors("aggregations = 1\n"),
        "features.toml:1:16: `aggregations` must be a table, found integer"
    );
    assert_eq!(
        errors("[aggregations]\ntxn = \"count\"\n"),
        "features.toml:2:7: aggregation `txn` must be a table, found string"
    );
    assert_eq!(
        errors(&with_aggregation(
            "entity = \"user\"\ngranularity = \"1m\"\nevent = [\"amount\"]\n\
             features = { n = { fn = \"count\", window = \"1h\" } }\n"
        )),
        "features.toml:5:9: `event` of aggregation `txn` must be a table, found array"
    );
    assert_eq!(
        errors(&with_aggregation(
            "entity = \"user\"\ngranularity = \"1m\"\nfeatures = 1\n"
        )),
        "features.toml:5:12: `features` of aggregation `txn` must be a table, found integer"
    );
}

#[test]
fn no_features_table() {
    assert_eq!(
        errors(&with_aggregation(
            "entity = \"user\"\ngranularity = \"1m\"\n"
        )),
        "features.toml:2:15: aggregation `txn` has no features; add a \
         `[aggregations.txn.features]` table"
    );
}

#[test]
fn empty_features_table() {
    assert_eq!(
        errors(&with_features("")),
        "features.toml:10:19: aggregation `txn` has no features; add at least one, like \
         `events_1h = { fn = \"count\", window = \"1h\" }`"
    );
}

#[test]
fn description_not_a_string() {
    assert_eq!(
        errors(&with_aggregation(
            "entity = \"user\"\ngranularity = \"1m\"\ndescription = 1\n\
             features = { n = { fn = \"count\", window = \"1h\", description = true } }\n"
        )),
        "features.toml:5:15: `description` must be a string, found integer\n\
         features.toml:6:63: `description` must be a string, found boolean"
    );
}

// ---------------------------------------------------------------------------------------------
// Granularity
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_granularity() {
    assert_eq!(
        errors(&with_aggregation(
            "entity = \"user\"\nfeatures = { n = { fn = \"count\", window = \"1h\" } }\n"
        )),
        "features.toml:2:15: aggregation `txn` has no `granularity`; add its bucket sizes, \
         finest first, like `granularity = [\"1m\", \"1h\"]`"
    );
}

#[test]
fn empty_granularity() {
    assert_eq!(
        errors(&with_granularity("[]", "\"1h\"")),
        "features.toml:4:15: the `granularity` of aggregation `txn` is empty; list its bucket \
         sizes, finest first, like [\"1m\", \"1h\"]"
    );
}

#[test]
fn granularity_of_wrong_toml_type() {
    assert_eq!(
        errors(&with_granularity("true", "\"1h\"")),
        "features.toml:4:15: `granularity` must be a bucket size such as \"1m\" or an array of \
         them, finest first, found boolean"
    );
    assert_eq!(
        errors(&with_granularity("[\"1m\", true]", "\"1h\"")),
        "features.toml:4:22: `granularity` must be a duration string such as \"1h\" or a number \
         of seconds, found boolean"
    );
}

#[test]
fn granularity_unparsable() {
    assert_eq!(
        errors(&with_granularity("[\"1m\", \"1w\"]", "\"1h\"")),
        "features.toml:4:22: invalid duration \"1w\": unknown unit \"w\"; expected a whole \
         number followed by `s`, `m`, `h` or `d` (\"30s\", \"15m\", \"1h\", \"7d\"), or an \
         integer number of seconds"
    );
}

#[test]
fn granularity_below_one_second() {
    assert_eq!(
        errors(&with_granularity("[\"500ms\", \"1s\"]", "\"1h\"")),
        "features.toml:4:16: `granularity` \"500ms\" is below one second, the smallest bucket \
         size: write a whole number of seconds, such as \"1s\""
    );
    assert_eq!(
        errors(&with_granularity("\"0s\"", "\"1h\"")),
        "features.toml:4:15: invalid duration \"0s\": it must be at least one second"
    );
}

#[test]
fn granularity_not_increasing() {
    assert_eq!(
        errors(&with_granularity("[\"1h\", \"1m\"]", "\"1h\"")),
        "features.toml:4:22: the `granularity` of aggregation `txn` is not in increasing order: \
         `1m` comes after `1h`; list bucket sizes finest first"
    );
}

#[test]
fn granularity_repeated() {
    assert_eq!(
        errors(&with_granularity("[\"1h\", \"60m\"]", "\"1h\"")),
        "features.toml:4:22: the `granularity` of aggregation `txn` lists `1h` twice; remove one"
    );
}

#[test]
fn granularity_not_a_multiple_of_the_previous_size() {
    assert_eq!(
        errors(&with_granularity("[\"1h\", \"90m\"]", "\"1h\"")),
        "features.toml:4:22: the granularity `90m` of aggregation `txn` is not a multiple of \
         `1h` before it: a bucket must hold whole buckets of the finer size; use a multiple of \
         `1h`, such as `2h`"
    );
}

#[test]
fn more_than_four_granularities() {
    assert_eq!(
        errors(&with_granularity(
            "[\"1s\", \"1m\", \"1h\", \"1d\", \"7d\"]",
            "\"1h\""
        )),
        "features.toml:4:40: the `granularity` of aggregation `txn` lists 5 sizes, more than 4: \
         every event updates one bucket of each size; keep at most 4"
    );
}

// ---------------------------------------------------------------------------------------------
// The event schema
// ---------------------------------------------------------------------------------------------

#[test]
fn event_field_name_not_an_identifier() {
    assert_eq!(
        errors(&with_event("\"card-present\" = \"bool\"\n")),
        "features.toml:7:1: invalid event field name: `card-present` is not an identifier: use \
         ASCII letters, digits and `_`, not starting with a digit"
    );
}

#[test]
fn event_field_name_reserved() {
    assert_eq!(
        errors(&with_event("_ts = \"int\"\n")),
        "features.toml:7:1: event field `_ts` of aggregation `txn` starts with `_`, which is \
         reserved for metadata; rename it"
    );
}

#[test]
fn duplicate_event_field() {
    assert_eq!(
        errors(&with_event("amount = \"float\"\namount = \"int\"\n")),
        "features.toml:8:1: invalid TOML: duplicate key `amount`; a view, an aggregation, an \
         entity, a feature and an event field can each be defined once"
    );
}

#[test]
fn event_field_type_unknown_did_you_mean() {
    assert_eq!(
        errors(&with_event("amount = \"flaot\"\n")),
        "features.toml:7:10: unknown type `flaot` for event field `amount` of aggregation \
         `txn`; did you mean `float`?"
    );
}

#[test]
fn event_field_type_unknown_lists_types() {
    assert_eq!(
        errors(&with_event("amount = { type = \"decimal\" }\n")),
        "features.toml:7:19: unknown type `decimal` for event field `amount` of aggregation \
         `txn`; expected one of `int`, `float`, `string`, `bool`"
    );
}

#[test]
fn event_field_float_list() {
    assert_eq!(
        errors(&with_event("embedding = \"float_list\"\n")),
        "features.toml:7:13: event field `embedding` of aggregation `txn` is a `float_list`, \
         which events cannot carry: an event field is an int, float, string or bool"
    );
}

#[test]
fn event_field_without_type() {
    assert_eq!(
        errors(&with_event("amount = { description = \"EUR\" }\n")),
        "features.toml:7:10: event field `amount` of aggregation `txn` has no `type`; add \
         `type = \"int\"` (or float, string, bool)"
    );
}

#[test]
fn event_field_of_wrong_toml_type() {
    assert_eq!(
        errors(&with_event("amount = 1\n")),
        "features.toml:7:10: event field `amount` of aggregation `txn` must be a type name like \
         \"float\" or a table like { type = \"float\" }, found integer"
    );
}

// ---------------------------------------------------------------------------------------------
// Features: name, fn, of
// ---------------------------------------------------------------------------------------------

#[test]
fn feature_name_not_an_identifier() {
    assert_eq!(
        errors(&with_features(
            "\"10m_count\" = { fn = \"count\", window = \"10m\" }\n"
        )),
        "features.toml:11:1: invalid feature name: `10m_count` is not an identifier: use ASCII \
         letters, digits and `_`, not starting with a digit"
    );
}

#[test]
fn feature_name_reserved() {
    assert_eq!(
        errors(&with_features(
            "_updated_at = { fn = \"count\", window = \"10m\" }\n"
        )),
        "features.toml:11:1: feature `_updated_at` of aggregation `txn` starts with `_`, which \
         is reserved for metadata; rename it"
    );
}

#[test]
fn duplicate_feature() {
    assert_eq!(
        errors(&with_features(
            "x = { fn = \"count\", window = \"1h\" }\nx = { fn = \"count\", window = \"2h\" }\n"
        )),
        "features.toml:12:1: invalid TOML: duplicate key `x`; a view, an aggregation, an \
         entity, a feature and an event field can each be defined once"
    );
}

#[test]
fn feature_not_a_table() {
    assert_eq!(
        errors(&with_features("x = \"count\"\n")),
        "features.toml:11:5: feature `x` of aggregation `txn` must be a table like \
         { fn = \"count\", window = \"1h\" }, found string"
    );
}

#[test]
fn missing_fn() {
    assert_eq!(
        errors(&with_features("x = { window = \"1h\" }\n")),
        "features.toml:11:5: feature `x` of aggregation `txn` has no `fn`; add `fn = \"count\"` \
         (or sum, avg, min, max, last, distinct)"
    );
}

#[test]
fn unknown_fn_did_you_mean() {
    assert_eq!(
        errors(&with_features("x = { fn = \"cout\", window = \"1h\" }\n")),
        "features.toml:11:12: unknown `fn` `cout` for feature `x` of aggregation `txn`; did you \
         mean `count`?"
    );
    assert_eq!(
        errors(&with_features(
            "x = { fn = \"Sum\", of = \"amount\", window = \"1h\" }\n"
        )),
        "features.toml:11:12: unknown `fn` `Sum` for feature `x` of aggregation `txn`; did you \
         mean `sum`?"
    );
}

#[test]
fn unknown_fn_lists_functions() {
    assert_eq!(
        errors(&with_features(
            "x = { fn = \"median\", of = \"amount\", window = \"1h\" }\n"
        )),
        "features.toml:11:12: unknown `fn` `median` for feature `x` of aggregation `txn`; \
         expected one of `count`, `sum`, `avg`, `min`, `max`, `last`, `distinct`"
    );
}

#[test]
fn fn_not_a_string() {
    assert_eq!(
        errors(&with_features("x = { fn = 1, window = \"1h\" }\n")),
        "features.toml:11:12: `fn` must be a string, found integer"
    );
}

#[test]
fn missing_of() {
    assert_eq!(
        errors(&with_features("x = { fn = \"sum\", window = \"1h\" }\n")),
        "features.toml:11:5: feature `x` of aggregation `txn` has no `of`: `sum` reads an event \
         field; add `of = \"amount\"` naming a field of `[aggregations.txn.event]`"
    );
    // The example is a field the function can read.
    assert_eq!(
        errors(&with_features(
            "x = { fn = \"distinct\", window = \"1h\" }\n"
        )),
        "features.toml:11:5: feature `x` of aggregation `txn` has no `of`: `distinct` reads an \
         event field; add `of = \"merchant\"` naming a field of `[aggregations.txn.event]`"
    );
}

#[test]
fn of_on_count() {
    assert_eq!(
        errors(&with_features(
            "x = { fn = \"count\", of = \"amount\", window = \"1h\" }\n"
        )),
        "features.toml:11:26: `count` counts events and reads no field: remove `of` from \
         feature `x` of aggregation `txn` (or use another `fn`)"
    );
}

#[test]
fn of_names_no_event_field_did_you_mean() {
    assert_eq!(
        errors(&with_features(
            "x = { fn = \"sum\", of = \"amout\", window = \"1h\" }\n"
        )),
        "features.toml:11:24: feature `x` of aggregation `txn` reads `amout`, which is not an \
         event field; did you mean `amount`? (declare event fields in \
         `[aggregations.txn.event]`)"
    );
}

#[test]
fn of_names_no_event_field_when_none_are_declared() {
    let src = with_granularity("\"1m\"", "\"1h\"")
        .replace("fn = \"count\"", "fn = \"last\", of = \"amount\"");
    assert_eq!(
        errors(&src),
        "features.toml:5:38: feature `n` of aggregation `txn` reads `amount`, which is not an \
         event field; no event fields are declared (declare event fields in \
         `[aggregations.txn.event]`)"
    );
}

#[test]
fn of_naming_an_invalid_event_field_is_not_reported_twice() {
    let src = variant(
        &with_features("x = { fn = \"sum\", of = \"cents\", window = \"1h\" }\n"),
        "n = \"int\"\n",
        "n = \"int\"\ncents = \"decimal\"\n",
    );
    assert_eq!(
        errors(&src),
        "features.toml:9:9: unknown type `decimal` for event field `cents` of aggregation \
         `txn`; expected one of `int`, `float`, `string`, `bool`"
    );
}

#[test]
fn numeric_functions_over_a_string() {
    for f in ["sum", "avg", "min", "max"] {
        let pad = " ".repeat(f.len() - 3);
        assert_eq!(
            errors(&with_features(&format!(
                "x = {{ fn = \"{f}\", of = \"merchant\", window = \"1h\" }}\n"
            ))),
            format!(
                "features.toml:11:{}: feature `x` of aggregation `txn`: `{f}` over a string \
                 (`merchant`) is not defined; `{f}` reads an int or float field, and a string \
                 can be read with `last` or `distinct`",
                24 + pad.len()
            )
        );
    }
}

#[test]
fn numeric_functions_over_a_bool() {
    assert_eq!(
        errors(&with_features(
            "x = { fn = \"avg\", of = \"flag\", window = \"1h\" }\n"
        )),
        "features.toml:11:24: feature `x` of aggregation `txn`: `avg` over a bool (`flag`) is \
         not defined; `avg` reads an int or float field: declare a flag as an int of 0 and 1 to \
         `avg` it"
    );
}

#[test]
fn distinct_over_a_float() {
    assert_eq!(
        errors(&with_features(
            "x = { fn = \"distinct\", of = \"amount\", window = \"1h\" }\n"
        )),
        "features.toml:11:29: feature `x` of aggregation `txn`: `distinct` over a float \
         (`amount`): approximate cardinality of a float is not meaningful: round it into an int \
         field"
    );
}

#[test]
fn distinct_over_a_bool() {
    assert_eq!(
        errors(&with_features(
            "x = { fn = \"distinct\", of = \"flag\", window = \"1h\" }\n"
        )),
        "features.toml:11:29: feature `x` of aggregation `txn`: `distinct` over a bool \
         (`flag`) is not meaningful, a bool has two values; `distinct` reads an int or string \
         field"
    );
}

#[test]
fn last_and_distinct_read_their_types() {
    let r = parse_ok(&with_features(
        "a = { fn = \"last\", of = \"flag\", window = \"1h\" }\n\
         b = { fn = \"last\", of = \"amount\", window = \"1h\" }\n\
         c = { fn = \"distinct\", of = \"n\", window = \"1h\" }\n\
         d = { fn = \"min\", of = \"n\", window = \"1h\" }\n",
    ));
    let a = &r.aggregations[0];
    let types: Vec<&str> = a.features.iter().map(|f| a.result_rust_type(f)).collect();
    assert_eq!(types, ["Option<bool>", "Option<f64>", "u64", "Option<i64>"]);
}

// ---------------------------------------------------------------------------------------------
// Windows
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_window() {
    assert_eq!(
        errors(&with_features("x = { fn = \"count\" }\n")),
        "features.toml:11:5: feature `x` of aggregation `txn` has no `window`; add the span of \
         time it covers, like `window = \"1h\"`"
    );
}

#[test]
fn window_unparsable() {
    assert_eq!(
        window_errors("[\"1m\", \"1h\"]", "\"1 h\""),
        "features.toml:11:30: invalid duration \"1 h\": write the unit right after the number, \
         without a space; expected a whole number followed by `s`, `m`, `h` or `d` (\"30s\", \
         \"15m\", \"1h\", \"7d\"), or an integer number of seconds"
    );
    assert_eq!(
        window_errors("[\"1m\", \"1h\"]", "1.5"),
        "features.toml:11:30: `window` must be a duration string such as \"1h\" or a number of \
         seconds, found float"
    );
    assert_eq!(
        window_errors("[\"1m\", \"1h\"]", "\"100ms\""),
        "features.toml:11:30: `window` \"100ms\" is below one second, the smallest bucket size: \
         write a whole number of seconds, such as \"1s\""
    );
}

#[test]
fn window_shorter_than_the_finest_granularity() {
    assert_eq!(
        window_errors("[\"1m\", \"1h\"]", "\"30s\""),
        "features.toml:11:30: feature `x` of aggregation `txn`: the window `30s` is shorter than \
         the finest granularity `1m`, the smallest bucket; make it at least `1m`, or add a finer \
         size to `granularity`"
    );
}

#[test]
fn window_not_a_multiple_of_the_finest_granularity() {
    assert_eq!(
        window_errors("[\"1m\", \"1h\"]", "\"90s\""),
        "features.toml:11:30: feature `x` of aggregation `txn`: the window `90s` is not a whole \
         number of buckets of the finest granularity `1m`; make it a multiple of `1m`, such as \
         `1m` or `2m`"
    );
}

#[test]
fn window_of_too_many_buckets_names_the_granularity_to_add() {
    assert_eq!(
        window_errors("[\"1m\", \"1h\"]", "\"7d\""),
        "features.toml:11:30: feature `x` of aggregation `txn`: the window `7d` needs 168 \
         buckets of `1h`, the coarsest granularity, more than the 64 a window may read; add \
         \"3h\" to `granularity` (then 56 buckets of `3h`), or shorten the window"
    );
    // 90m is no multiple of 1h: a size between 1m and 1h that divides both.
    assert_eq!(
        window_errors("[\"1m\", \"1h\"]", "\"90m\""),
        "features.toml:11:30: feature `x` of aggregation `txn`: the window `90m` needs 90 \
         buckets of `1m`, the coarsest granularity that divides it, more than the 64 a window \
         may read; add \"2m\" to `granularity` (then 45 buckets of `2m`), or shorten the window"
    );
}

#[test]
fn window_of_too_many_buckets_with_four_granularities() {
    assert_eq!(
        window_errors("[\"1s\", \"1m\", \"1h\", \"1d\"]", "\"365d\""),
        "features.toml:11:30: feature `x` of aggregation `txn`: the window `365d` needs 365 \
         buckets of `1d`, the coarsest granularity, more than the 64 a window may read; add \
         \"73d\" to `granularity` in place of one of its 4 sizes (then 5 buckets of `73d`), or \
         shorten the window"
    );
}

#[test]
fn window_of_too_many_buckets_without_a_size_to_add() {
    assert_eq!(
        window_errors("[\"1m\", \"1h\"]", "\"67m\""),
        "features.toml:11:30: feature `x` of aggregation `txn`: the window `67m` needs 67 \
         buckets of `1m`, the coarsest granularity that divides it, more than the 64 a window \
         may read; shorten it to at most `64m`, or make it a multiple of a coarser size of \
         `granularity`"
    );
}

#[test]
fn windows_are_not_checked_against_an_invalid_granularity() {
    assert_eq!(
        window_errors("[\"1h\", \"1m\"]", "\"30s\""),
        "features.toml:4:22: the `granularity` of aggregation `txn` is not in increasing order: \
         `1m` comes after `1h`; list bucket sizes finest first"
    );
}

// ---------------------------------------------------------------------------------------------
// Every problem, in file order
// ---------------------------------------------------------------------------------------------

#[test]
fn all_problems_are_reported_in_file_order() {
    let src = "[entities.user]\n\
               [aggregations.txn]\n\
               entity = \"usr\"\n\
               granularity = [\"1m\", \"1h\"]\n\
               [aggregations.txn.event]\n\
               amount = \"float_list\"\n\
               merchant = \"string\"\n\
               [aggregations.txn.features]\n\
               a = { fn = \"sum\", of = \"merchant\", window = \"1h\" }\n\
               b = { fn = \"count\", window = \"7d\" }\n\
               c = { fn = \"cnt\", window = \"1h\" }\n";
    assert_eq!(
        errors(src),
        "features.toml:3:10: aggregation `txn` names unknown entity `usr`; did you mean `user`? \
         (declare entities as `[entities.usr]`)\n\
         features.toml:6:10: event field `amount` of aggregation `txn` is a `float_list`, which \
         events cannot carry: an event field is an int, float, string or bool\n\
         features.toml:9:24: feature `a` of aggregation `txn`: `sum` over a string (`merchant`) \
         is not defined; `sum` reads an int or float field, and a string can be read with \
         `last` or `distinct`\n\
         features.toml:10:30: feature `b` of aggregation `txn`: the window `7d` needs 168 \
         buckets of `1h`, the coarsest granularity, more than the 64 a window may read; add \
         \"3h\" to `granularity` (then 56 buckets of `3h`), or shorten the window\n\
         features.toml:11:12: unknown `fn` `cnt` for feature `c` of aggregation `txn`; expected \
         one of `count`, `sum`, `avg`, `min`, `max`, `last`, `distinct`"
    );
}

// ---------------------------------------------------------------------------------------------
// Fingerprint
// ---------------------------------------------------------------------------------------------

fn fingerprint(src: &str) -> String {
    parse_ok(src).fingerprint()
}

#[test]
fn the_fingerprint_changes_with_every_aggregation_setting() {
    let base = fingerprint(FIXTURE);
    let logins = FIXTURE.find("[aggregations.user_logins]").unwrap();
    let more = "[aggregations.more]\nentity = \"user\"\ngranularity = \"1m\"\n\
                features = { n = { fn = \"count\", window = \"1h\" } }\n";
    let count_10m = "txn_count_10m = { fn = \"count\", window = \"10m\" }\n";
    let count_1h = "txn_count_1h = { fn = \"count\", window = \"1h\" }\n";
    let changed = [
        ("aggregation added", format!("{FIXTURE}\n{more}")),
        ("aggregation removed", FIXTURE[..logins].to_owned()),
        (
            "aggregation renamed",
            FIXTURE.replace("aggregations.user_logins", "aggregations.logins"),
        ),
        (
            "entity",
            format!(
                "[entities.card]\n{}",
                variant(
                    FIXTURE,
                    "[aggregations.user_logins]\nentity = \"user\"",
                    "[aggregations.user_logins]\nentity = \"card\"",
                )
            ),
        ),
        (
            "granularity added",
            variant(
                FIXTURE,
                "granularity = [\"1m\", \"1h\"]",
                "granularity = [\"1m\", \"1h\", \"1d\"]",
            ),
        ),
        (
            "granularity changed",
            variant(FIXTURE, "granularity = \"1m\"", "granularity = \"2m\""),
        ),
        (
            "event field type",
            variant(FIXTURE, "items = \"int\"", "items = \"float\""),
        ),
        (
            "event field renamed",
            FIXTURE.replace("card_present", "present"),
        ),
        (
            "event field added",
            variant(
                FIXTURE,
                "items = \"int\"",
                "items = \"int\"\nshop = \"string\"",
            ),
        ),
        (
            "event field order",
            variant(
                FIXTURE,
                "items = \"int\"\ncard_present = \"bool\"",
                "card_present = \"bool\"\nitems = \"int\"",
            ),
        ),
        ("fn", variant(FIXTURE, "fn = \"max\"", "fn = \"min\"")),
        (
            "of",
            variant(
                FIXTURE,
                "of = \"items\", window = \"1h\"",
                "of = \"amount\", window = \"1h\"",
            ),
        ),
        ("window", variant(FIXTURE, "window = 3600", "window = 1800")),
        (
            "feature renamed",
            FIXTURE.replace("txn_count_1h", "count_1h"),
        ),
        ("feature removed", variant(FIXTURE, count_1h, "")),
        (
            "feature order",
            variant(
                FIXTURE,
                &format!("{count_10m}{count_1h}"),
                &format!("{count_1h}{count_10m}"),
            ),
        ),
    ];
    let mut seen = vec![base];
    for (what, src) in changed {
        let fp = fingerprint(&src);
        assert!(
            !seen.contains(&fp),
            "{what} did not change the fingerprint:\n{src}"
        );
        seen.push(fp);
    }
}

#[test]
fn the_fingerprint_ignores_descriptions_formatting_and_aggregation_order() {
    let base = fingerprint(FIXTURE);
    let logins = &FIXTURE[FIXTURE.find("[aggregations.user_logins]").unwrap()..];
    let txn_start = FIXTURE.find("[aggregations.user_txn]").unwrap();
    let txn = &FIXTURE[txn_start..FIXTURE.find("[aggregations.user_logins]").unwrap()];
    let same = [
        (
            "description",
            FIXTURE.replace("Card transactions", "Payments"),
        ),
        (
            "feature description",
            FIXTURE.replace(", description = \"Mean amount, EUR\"", ""),
        ),
        (
            "event description",
            variant(
                FIXTURE,
                "merchant = { type = \"string\", description = \"Merchant id\" }",
                "merchant = \"string\"",
            ),
        ),
        (
            "window in seconds",
            variant(FIXTURE, "window = 3600", "window = \"1h\""),
        ),
        (
            "granularity in seconds",
            variant(FIXTURE, "granularity = \"1m\"", "granularity = [60]"),
        ),
        (
            "comments",
            FIXTURE.replace("\n[aggregations", "\n# a comment\n[aggregations"),
        ),
        (
            "aggregations reordered",
            format!("{}{logins}\n{txn}", &FIXTURE[..txn_start]),
        ),
    ];
    for (what, src) in same {
        assert_eq!(fingerprint(&src), base, "{what}:\n{src}");
    }
}

#[test]
fn a_registry_without_aggregations_keeps_its_canonical_text() {
    let src = "[entities.user]\n[views.p]\nentity = \"user\"\nttl = \"1h\"\nfeatures = { age = \"int\" }\n";
    let r = parse_ok(src);
    assert_eq!(
        r.canonical(),
        "namespace=\"fs\"\nversion=1\nview \"p\" entity=\"user\" ttl=3600\n  feature \"age\" type=int\n"
    );
    let with = parse_ok(&format!(
        "{src}[aggregations.txn]\nentity = \"user\"\ngranularity = \"1m\"\n\
         event = {{ amount = \"float\" }}\n\
         features = {{ s = {{ fn = \"sum\", of = \"amount\", window = \"1h\" }} }}\n"
    ));
    assert_eq!(
        with.canonical(),
        format!(
            "{}aggregation \"txn\" entity=\"user\" granularity_ms=60000\n  event \"amount\" \
             type=float\n  feature \"s\" fn=sum of=\"amount\" window_ms=3600000\n",
            r.canonical()
        )
    );
}

#[test]
fn generated_event_and_builder_structs_do_not_clash() {
    // Aggregation `card` generates `Card` and `CardEvent`; view `card_event` generates
    // `CardEvent` too.
    let src = "[entities.user]\n\
        [views.card_event]\nentity = \"user\"\nttl = \"1h\"\n[views.card_event.features]\nx = \"int\"\n\
        [aggregations.card]\nentity = \"user\"\ngranularity = \"1m\"\n\
        [aggregations.card.features]\nn = { fn = \"count\", window = \"10m\" }\n";
    let text = errors(src);
    assert!(
        text.contains(
            "view `card_event` and aggregation `card` would both generate the struct `CardEvent`"
        ),
        "{text}"
    );
    // View `profile` generates `ProfileBuilder`, as aggregation `profile_builder` would.
    let src = "[entities.user]\n\
        [views.profile]\nentity = \"user\"\nttl = \"1h\"\n[views.profile.features]\nx = \"int\"\n\
        [aggregations.profile_builder]\nentity = \"user\"\ngranularity = \"1m\"\n\
        [aggregations.profile_builder.features]\nn = { fn = \"count\", window = \"10m\" }\n";
    let text = errors(src);
    assert!(
        text.contains("view `profile` and aggregation `profile_builder` would both generate the struct `ProfileBuilder`"),
        "{text}"
    );
    // Aggregations `card` and `card_event`, in either order.
    for (first, second) in [("card", "card_event"), ("card_event", "card")] {
        let src = format!(
            "[entities.user]\n\
             [aggregations.{first}]\nentity = \"user\"\ngranularity = \"1m\"\n\
             [aggregations.{first}.features]\nn = {{ fn = \"count\", window = \"10m\" }}\n\
             [aggregations.{second}]\nentity = \"user\"\ngranularity = \"1m\"\n\
             [aggregations.{second}.features]\nn = {{ fn = \"count\", window = \"10m\" }}\n"
        );
        let text = errors(&src);
        assert!(
            text.contains("would both generate the struct `CardEvent`"),
            "{text}"
        );
    }
}
