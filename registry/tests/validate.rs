//! The validator of `features.toml`: one test per rule, each pinning the exact diagnostic text
//! (`file:line:column: message`).
//!
//! Tests marked `#[ignore = "…"]` describe the behaviour the validator should have but does not
//! yet; the reason says what is wrong.

mod common;

use common::{errors, parse_ok, variant, FILE};

use fstore_registry::{
    is_keyword, DefaultValue, Diagnostic, FeatureType, ListEncoding, Location, Registry,
};

/// A valid skeleton (an entity `user`, a view `profile` with entity and ttl) whose features
/// table holds `features`; the first feature is on line 6.
fn with_features(features: &str) -> String {
    format!(
        "[entities.user]\n\
         [views.profile]\n\
         entity = \"user\"\n\
         ttl = \"1h\"\n\
         [views.profile.features]\n\
         {features}"
    )
}

/// An entity `user` and a view `profile` whose table body is `body`; the body starts on line 3.
fn with_view(body: &str) -> String {
    format!("[entities.user]\n[views.profile]\n{body}")
}

/// A view `profile` with `ttl = {ttl}` on line 4, column 7.
fn with_ttl(ttl: &str) -> String {
    with_view(&format!(
        "entity = \"user\"\nttl = {ttl}\nfeatures = {{ x = \"int\" }}\n"
    ))
}

// ---------------------------------------------------------------------------------------------
// TOML syntax and duplicate keys
// ---------------------------------------------------------------------------------------------

#[test]
fn toml_syntax_error() {
    assert_eq!(
        errors(&with_features("country = string\n")),
        "features.toml:6:11: invalid TOML: string values must be quoted, expected literal string"
    );
}

#[test]
fn duplicate_view() {
    let src = "[entities.user]\n\
               [views.a]\n\
               entity = \"user\"\n\
               ttl = \"1h\"\n\
               features = { x = \"int\" }\n\
               [views.a]\n";
    assert_eq!(
        errors(src),
        "features.toml:6:8: invalid TOML: duplicate key `a`; \
         a view, an aggregation, an entity, a feature and an event field can each be defined once"
    );
}

#[test]
fn duplicate_feature() {
    assert_eq!(
        errors(&with_features("age = \"int\"\nage = \"float\"\n")),
        "features.toml:7:1: invalid TOML: duplicate key `age`; \
         a view, an aggregation, an entity, a feature and an event field can each be defined once"
    );
}

#[test]
fn duplicate_entity() {
    assert_eq!(
        errors("[entities.user]\n[entities.user]\n"),
        "features.toml:2:11: invalid TOML: duplicate key `user`; \
         a view, an aggregation, an entity, a feature and an event field can each be defined once"
    );
}

#[test]
fn duplicate_quoted_key_names_the_key() {
    assert_eq!(
        errors(&with_features("x = \"int\"\n\"x\" = \"float\"\n")),
        "features.toml:7:1: invalid TOML: duplicate key `x`; \
         a view, an aggregation, an entity, a feature and an event field can each be defined once"
    );
}

#[test]
fn duplicate_plain_key_has_no_definition_hint() {
    assert_eq!(
        errors(&with_view(
            "entity = \"user\"\nttl = \"1h\"\nttl = \"2h\"\nfeatures = { x = \"int\" }\n"
        )),
        "features.toml:5:1: invalid TOML: duplicate key `ttl`"
    );
}

// ---------------------------------------------------------------------------------------------
// Unknown keys
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_top_level_table_did_you_mean() {
    assert_eq!(
        errors("[view.x]\n"),
        "features.toml:1:2: unknown key `view` in the registry; did you mean `views`?"
    );
}

#[test]
fn unknown_top_level_key_lists_valid_keys() {
    assert_eq!(
        errors("zzz = 1\n"),
        "features.toml:1:1: unknown key `zzz` in the registry; \
         expected one of `store`, `entities`, `views`, `aggregations`"
    );
}

#[test]
fn unknown_key_in_store_did_you_mean() {
    assert_eq!(
        errors("[store]\nnamspace = \"x\"\n"),
        "features.toml:2:1: unknown key `namspace` in `[store]`; did you mean `namespace`?"
    );
}

#[test]
fn unknown_key_in_store_lists_valid_keys() {
    assert_eq!(
        errors("[store]\nzzz = 1\n"),
        "features.toml:2:1: unknown key `zzz` in `[store]`; \
         expected one of `namespace`, `version`"
    );
}

#[test]
fn unknown_key_in_entity_did_you_mean() {
    assert_eq!(
        errors("[entities.user]\ndescripion = \"x\"\n"),
        "features.toml:2:1: unknown key `descripion` in entity `user`; \
         did you mean `description`?"
    );
}

#[test]
fn unknown_key_in_entity_lists_valid_keys() {
    assert_eq!(
        errors("[entities.user]\ncolour = 1\n"),
        "features.toml:2:1: unknown key `colour` in entity `user`; expected `description`"
    );
}

#[test]
fn unknown_key_in_view_did_you_mean() {
    assert_eq!(
        errors(&with_view(
            "entity = \"user\"\nttl = \"1h\"\ndesc = \"x\"\nfeatures = { x = \"int\" }\n"
        )),
        "features.toml:5:1: unknown key `desc` in view `profile`; did you mean `description`?"
    );
}

#[test]
fn unknown_key_in_view_lists_valid_keys() {
    assert_eq!(
        errors(&with_view(
            "entity = \"user\"\nttl = \"1h\"\ncolour = 1\nfeatures = { x = \"int\" }\n"
        )),
        "features.toml:5:1: unknown key `colour` in view `profile`; \
         expected one of `entity`, `ttl`, `description`, `features`, `max_age`"
    );
}

#[test]
fn unknown_key_in_view_suggests_ttl_for_tll() {
    assert_eq!(
        errors(&with_view(
            "entity = \"user\"\nttl = \"1h\"\ntll = \"2h\"\nfeatures = { x = \"int\" }\n"
        )),
        "features.toml:5:1: unknown key `tll` in view `profile`; did you mean `ttl`?"
    );
}

#[test]
fn unknown_key_in_feature_did_you_mean() {
    assert_eq!(
        errors(&with_features("x = { type = \"int\", defualt = 1 }\n")),
        "features.toml:6:21: unknown key `defualt` in feature `x` of view `profile`; \
         did you mean `default`?"
    );
}

#[test]
fn unknown_key_in_feature_lists_valid_keys() {
    assert_eq!(
        errors(&with_features("x = { type = \"int\", kind = 1 }\n")),
        "features.toml:6:21: unknown key `kind` in feature `x` of view `profile`; \
         expected one of `type`, `description`, `default`, `len`, `encoding`, `optional`, `vocab`, \
         `encode`"
    );
}

#[test]
fn unknown_key_in_feature_header_table() {
    // A feature written as its own `[views.profile.features.x]` table.
    assert_eq!(
        errors(&with_features(
            "[views.profile.features.x]\ntype = \"int\"\ncolour = 1\n"
        )),
        "features.toml:8:1: unknown key `colour` in feature `x` of view `profile`; \
         expected one of `type`, `description`, `default`, `len`, `encoding`, `optional`, `vocab`, \
         `encode`"
    );
}

// ---------------------------------------------------------------------------------------------
// [store]
// ---------------------------------------------------------------------------------------------

#[test]
fn version_zero() {
    assert_eq!(
        errors("[store]\nversion = 0\n"),
        "features.toml:2:11: `version` 0 is not allowed: versions start at 1 (keys read `fs:v1:…`)"
    );
}

#[test]
fn version_not_an_integer() {
    for value in ["\"1\"", "1.0", "true", "[1]"] {
        assert_eq!(
            errors(&format!("[store]\nversion = {value}\n")),
            "features.toml:2:11: `version` must be a whole number from 1 to 4294967295",
            "version = {value}"
        );
    }
}

#[test]
fn version_out_of_range() {
    for value in ["-1", "4294967296", "99999999999999999999"] {
        assert_eq!(
            errors(&format!("[store]\nversion = {value}\n")),
            "features.toml:2:11: `version` must be a whole number from 1 to 4294967295",
            "version = {value}"
        );
    }
}

#[test]
fn version_limits_are_accepted() {
    assert_eq!(parse_ok("[store]\nversion = 1\n").version, 1);
    assert_eq!(parse_ok("[store]\nversion = 0x10\n").version, 16);
    assert_eq!(
        parse_ok("[store]\nversion = 4294967295\n").version,
        u32::MAX
    );
}

#[test]
fn invalid_namespace() {
    for ns in ["fs:prod", "a b", "", "é"] {
        assert_eq!(
            errors(&format!("[store]\nnamespace = {ns:?}\n")),
            format!(
                "features.toml:2:13: invalid namespace {ns:?}: use ASCII letters, digits, `_`, \
                 `-` and `.` (it starts every key)"
            )
        );
    }
    assert_eq!(
        parse_ok("[store]\nnamespace = \"prod-eu.fs_2\"\n").key_namespace(),
        "prod-eu.fs_2:v1:"
    );
}

#[test]
fn namespace_not_a_string() {
    assert_eq!(
        errors("[store]\nnamespace = 5\n"),
        "features.toml:2:13: `namespace` must be a string, found integer"
    );
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

const NOT_AN_IDENTIFIER: &str =
    "is not an identifier: use ASCII letters, digits and `_`, not starting with a digit";

#[test]
fn entity_name_not_an_identifier() {
    assert_eq!(
        errors("[entities.user-profile]\n[entities.2fa]\n[entities.\"bad name\"]\n"),
        format!(
            "features.toml:1:11: invalid entity name: `user-profile` {NOT_AN_IDENTIFIER}\n\
             features.toml:2:11: invalid entity name: `2fa` {NOT_AN_IDENTIFIER}\n\
             features.toml:3:11: invalid entity name: `bad name` {NOT_AN_IDENTIFIER}"
        )
    );
}

#[test]
fn view_name_not_an_identifier() {
    let mut src = String::from("[entities.user]\n");
    for name in ["user-profile", "2fa", "\"bad name\""] {
        src.push_str(&format!(
            "[views.{name}]\nentity = \"user\"\nttl = \"1h\"\nfeatures = {{ x = \"int\" }}\n"
        ));
    }
    assert_eq!(
        errors(&src),
        format!(
            "features.toml:2:8: invalid view name: `user-profile` {NOT_AN_IDENTIFIER}\n\
             features.toml:6:8: invalid view name: `2fa` {NOT_AN_IDENTIFIER}\n\
             features.toml:10:8: invalid view name: `bad name` {NOT_AN_IDENTIFIER}"
        )
    );
}

#[test]
fn feature_name_not_an_identifier() {
    assert_eq!(
        errors(&with_features(
            "user-id = \"int\"\n2fa = \"int\"\n\"bad name\" = \"int\"\n\"é\" = \"int\"\n"
        )),
        format!(
            "features.toml:6:1: invalid feature name: `user-id` {NOT_AN_IDENTIFIER}\n\
             features.toml:7:1: invalid feature name: `2fa` {NOT_AN_IDENTIFIER}\n\
             features.toml:8:1: invalid feature name: `bad name` {NOT_AN_IDENTIFIER}\n\
             features.toml:9:1: invalid feature name: `é` {NOT_AN_IDENTIFIER}"
        )
    );
}

#[test]
fn empty_names_are_not_identifiers() {
    assert_eq!(
        errors(&with_features("\"\" = \"int\"\n")),
        format!("features.toml:6:1: invalid feature name: `` {NOT_AN_IDENTIFIER}")
    );
    assert_eq!(
        errors("[entities.\"\"]\n"),
        format!("features.toml:1:11: invalid entity name: `` {NOT_AN_IDENTIFIER}")
    );
    assert_eq!(
        errors(
            "[entities.user]\n[views.\"\"]\nentity = \"user\"\nttl = \"1h\"\nfeatures = { x = \"int\" }\n"
        ),
        format!("features.toml:2:8: invalid view name: `` {NOT_AN_IDENTIFIER}")
    );
}

#[test]
fn view_name_must_give_a_struct_name() {
    let src = "[entities.user]\n\
               [views._1]\n\
               entity = \"user\"\n\
               ttl = \"1h\"\n\
               features = { x = \"int\" }\n\
               [views.__]\n\
               entity = \"user\"\n\
               ttl = \"1h\"\n\
               features = { x = \"int\" }\n";
    assert_eq!(
        errors(src),
        "features.toml:2:8: invalid view name: `_1` would generate the struct `1`, which is not \
         an identifier; start the name with a letter\n\
         features.toml:6:8: invalid view name: `__` would generate the struct ``, which is not \
         an identifier; start the name with a letter"
    );
}

#[test]
fn keyword_feature_name_is_accepted() {
    let r = parse_ok(&with_features(
        "type = \"int\"\nmatch = \"bool\"\nfn = { type = \"string\" }\n",
    ));
    let view = r.view("profile").unwrap();
    assert_eq!(
        view.feature_names().collect::<Vec<_>>(),
        ["type", "match", "fn"]
    );
    assert!(view.feature_names().all(is_keyword));
    assert_eq!(view.feature("type").unwrap().ty, FeatureType::Int);
}

#[test]
fn self_feature_name_is_rejected() {
    assert_eq!(
        errors(&with_features("self = \"int\"\n")),
        "features.toml:6:1: invalid feature name: `self` is a Rust keyword that cannot be a \
         field or struct name"
    );
}

#[test]
fn underscore_prefixed_feature_is_reserved() {
    assert_eq!(
        errors(&with_features("_updated_at = \"int\"\n")),
        "features.toml:6:1: feature `_updated_at` of view `profile` starts with `_`, which is \
         reserved for metadata such as `_updated_at`; rename it"
    );
}

#[test]
fn lone_underscore_feature_is_rejected() {
    assert_eq!(
        errors(&with_features("_ = \"int\"\n")),
        "features.toml:6:1: invalid feature name: `_` is a Rust keyword that cannot be a field \
         or struct name"
    );
}

#[test]
fn views_generating_the_same_struct() {
    let src = "[entities.user]\n\
               [views.user_profile]\n\
               entity = \"user\"\n\
               ttl = \"1h\"\n\
               features = { x = \"int\" }\n\
               [views.userProfile]\n\
               entity = \"user\"\n\
               ttl = \"1h\"\n\
               features = { x = \"int\" }\n";
    assert_eq!(
        errors(src),
        "features.toml:6:8: views `user_profile` and `userProfile` would both generate the \
         struct `UserProfile`; rename one of them"
    );
}

// ---------------------------------------------------------------------------------------------
// Views: entity, ttl, features
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_entity_with_close_match() {
    assert_eq!(
        errors(&with_view(
            "entity = \"usr\"\nttl = \"1h\"\nfeatures = { x = \"int\" }\n"
        )),
        "features.toml:3:10: view `profile` names unknown entity `usr`; did you mean `user`? \
         (declare entities as `[entities.usr]`)"
    );
}

#[test]
fn unknown_entity_without_close_match() {
    let src = "[entities.user]\n\
               [entities.item]\n\
               [views.profile]\n\
               entity = \"zzz\"\n\
               ttl = \"1h\"\n\
               features = { x = \"int\" }\n";
    assert_eq!(
        errors(src),
        "features.toml:4:10: view `profile` names unknown entity `zzz`; \
         expected one of `user`, `item` (declare entities as `[entities.zzz]`)"
    );
}

#[test]
fn unknown_entity_when_none_are_declared() {
    assert_eq!(
        errors("[views.profile]\nentity = \"user\"\nttl = \"1h\"\nfeatures = { x = \"int\" }\n"),
        "features.toml:2:10: view `profile` names unknown entity `user`; no entities are \
         declared (declare entities as `[entities.user]`)"
    );
}

#[test]
fn entity_not_a_string() {
    assert_eq!(
        errors(&with_view(
            "entity = 5\nttl = \"1h\"\nfeatures = { x = \"int\" }\n"
        )),
        "features.toml:3:10: `entity` must be a string, found integer"
    );
}

#[test]
fn missing_entity() {
    assert_eq!(
        errors(&with_view("ttl = \"1h\"\nfeatures = { x = \"int\" }\n")),
        "features.toml:2:8: view `profile` has no `entity`; add `entity = \"...\"` naming one of \
         `[entities]`"
    );
}

#[test]
fn missing_ttl() {
    assert_eq!(
        errors(&with_view(
            "entity = \"user\"\nfeatures = { x = \"int\" }\n"
        )),
        "features.toml:2:8: view `profile` has no `ttl`; every write sets an expiry: add \
         `ttl = \"1h\"` (\"30s\", \"15m\", \"1h\", \"7d\" or seconds)"
    );
}

#[test]
fn ttl_forms_are_accepted() {
    for (ttl, seconds, text) in [
        ("\"30s\"", 30, "30s"),
        ("\"15m\"", 900, "15m"),
        ("\"1h\"", 3_600, "1h"),
        ("\"7d\"", 604_800, "7d"),
        ("\"45\"", 45, "45"),
        ("45", 45, "45s"),
        ("3_600", 3_600, "3600s"),
    ] {
        let r = parse_ok(&with_ttl(ttl));
        let view = r.view("profile").unwrap();
        assert_eq!(view.ttl_seconds, seconds, "ttl = {ttl}");
        assert_eq!(view.ttl_text, text, "ttl = {ttl}");
    }
}

const DURATION_HELP: &str = "expected a whole number followed by `s`, `m`, `h` or `d` \
                             (\"30s\", \"15m\", \"1h\", \"7d\"), or an integer number of seconds";

#[test]
fn ttl_unknown_unit() {
    assert_eq!(
        errors(&with_ttl("\"1w\"")),
        format!("features.toml:4:7: invalid duration \"1w\": unknown unit \"w\"; {DURATION_HELP}")
    );
}

#[test]
fn ttl_at_most_100_years() {
    // The same bound as the derives' `ttl` (`tests/ui/ttl-too-long.rs`): a key Valkey can expire.
    assert_eq!(
        parse_ok(&with_ttl("\"36500d\""))
            .view("profile")
            .unwrap()
            .ttl_seconds,
        fstore_registry::MAX_DURATION_SECONDS
    );
    assert_eq!(
        errors(&with_ttl("9223372036854775807")),
        "features.toml:4:7: `ttl`: 9223372036854775807 seconds is more than 100 years \
         (3153600000 seconds), the longest fstore accepts; Valkey cannot expire a key that far ahead"
    );
    assert_eq!(
        errors(&with_ttl("\"36501d\"")),
        "features.toml:4:7: invalid duration \"36501d\": 3153686400 seconds is more than 100 \
         years (3153600000 seconds), the longest fstore accepts; Valkey cannot expire a key that \
         far ahead"
    );
}

#[test]
fn ttl_zero_duration() {
    assert_eq!(
        errors(&with_ttl("\"0s\"")),
        "features.toml:4:7: invalid duration \"0s\": it must be at least one second"
    );
}

#[test]
fn ttl_space_before_unit() {
    assert_eq!(
        errors(&with_ttl("\"1 h\"")),
        format!(
            "features.toml:4:7: invalid duration \"1 h\": write the unit right after the number, \
             without a space; {DURATION_HELP}"
        )
    );
}

#[test]
fn ttl_without_number() {
    assert_eq!(
        errors(&with_ttl("\"h\"")),
        format!("features.toml:4:7: invalid duration \"h\": {DURATION_HELP}")
    );
}

#[test]
fn ttl_zero_seconds() {
    assert_eq!(
        errors(&with_ttl("0")),
        "features.toml:4:7: `ttl` in seconds must be a whole number of at least 1"
    );
}

#[test]
fn ttl_negative_seconds() {
    assert_eq!(
        errors(&with_ttl("-5")),
        "features.toml:4:7: `ttl` in seconds must be a whole number of at least 1"
    );
}

#[test]
fn ttl_float() {
    assert_eq!(
        errors(&with_ttl("1.5")),
        "features.toml:4:7: `ttl` must be a duration string such as \"1h\" or a number of \
         seconds, found float"
    );
}

#[test]
fn ttl_table() {
    assert_eq!(
        errors(&with_ttl("{ hours = 1 }")),
        "features.toml:4:7: `ttl` must be a duration string such as \"1h\" or a number of \
         seconds, found table"
    );
}

#[test]
fn ttl_too_large() {
    assert_eq!(
        errors(&with_ttl("\"999999999999999999d\"")),
        "features.toml:4:7: invalid duration \"999999999999999999d\": too large"
    );
}

#[test]
fn empty_features_table() {
    assert_eq!(
        errors(&with_features("")),
        "features.toml:5:16: view `profile` has no features; add at least one, like \
         `age = \"int\"`"
    );
}

#[test]
fn empty_inline_features_table() {
    assert_eq!(
        errors(&with_view(
            "entity = \"user\"\nttl = \"1h\"\nfeatures = {}\n"
        )),
        "features.toml:5:1: view `profile` has no features; add at least one, like \
         `age = \"int\"`"
    );
}

#[test]
fn no_features_table() {
    assert_eq!(
        errors(&with_view("entity = \"user\"\nttl = \"1h\"\n")),
        "features.toml:2:8: view `profile` has no features; add a `[views.profile.features]` \
         table"
    );
}

#[test]
fn view_defined_only_by_its_features_table() {
    // No `[views.profile]` header: entity and ttl are missing, reported at the view's name.
    assert_eq!(
        errors("[entities.user]\n[views.profile.features]\nx = \"int\"\n"),
        "features.toml:2:8: view `profile` has no `entity`; add `entity = \"...\"` naming one of \
         `[entities]`\n\
         features.toml:2:8: view `profile` has no `ttl`; every write sets an expiry: add \
         `ttl = \"1h\"` (\"30s\", \"15m\", \"1h\", \"7d\" or seconds)"
    );
}

#[test]
fn description_not_a_string() {
    assert_eq!(
        errors(
            "[entities.user]\ndescription = 1\n\
             [views.profile]\nentity = \"user\"\nttl = \"1h\"\ndescription = true\n\
             [views.profile.features]\nx = { type = \"int\", description = [] }\n"
        ),
        "features.toml:2:15: `description` must be a string, found integer\n\
         features.toml:6:15: `description` must be a string, found boolean\n\
         features.toml:8:35: `description` must be a string, found array"
    );
}

// ---------------------------------------------------------------------------------------------
// Non-tables where tables are expected
// ---------------------------------------------------------------------------------------------

#[test]
fn views_not_a_table() {
    assert_eq!(
        errors("views = 1\n"),
        "features.toml:1:9: `views` must be a table, found integer"
    );
}

#[test]
fn view_not_a_table() {
    assert_eq!(
        errors("[views]\nx = 1\n"),
        "features.toml:2:5: view `x` must be a table, found integer"
    );
}

#[test]
fn entities_and_store_not_tables() {
    assert_eq!(
        errors("entities = 1\nstore = \"fs\"\n"),
        "features.toml:1:12: `entities` must be a table, found integer\n\
         features.toml:2:9: `[store]` must be a table, found string"
    );
}

#[test]
fn entity_not_a_table() {
    assert_eq!(
        errors("[entities]\nuser = 1\n"),
        "features.toml:2:8: entity `user` must be a table, found integer"
    );
}

#[test]
fn features_not_a_table() {
    assert_eq!(
        errors(&with_view(
            "entity = \"user\"\nttl = \"1h\"\nfeatures = 3\n"
        )),
        "features.toml:5:12: `features` of view `profile` must be a table, found integer"
    );
}

// ---------------------------------------------------------------------------------------------
// Feature types
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_type_integer_suggests_int() {
    assert_eq!(
        errors(&with_features("x = \"integer\"\n")),
        "features.toml:6:5: unknown type `integer` for feature `x` of view `profile`; \
         did you mean `int`? (types: int, float, string, bool, float_list)"
    );
}

#[test]
fn unknown_type_flaot_suggests_float() {
    assert_eq!(
        errors(&with_features("x = { type = \"flaot\" }\n")),
        "features.toml:6:14: unknown type `flaot` for feature `x` of view `profile`; \
         did you mean `float`? (types: int, float, string, bool, float_list)"
    );
}

#[test]
fn unknown_type_without_close_match_lists_types() {
    // The exact text is pinned by the ignored `unknown_type_lists_types_once` below.
    let text = errors(&with_features("x = \"zzz\"\n"));
    assert!(
        text.starts_with(
            "features.toml:6:5: unknown type `zzz` for feature `x` of view `profile`; \
             expected one of `int`, `float`, `string`, `bool`, `float_list`"
        ),
        "{text}"
    );
}

#[test]
fn unknown_type_lists_types_once() {
    assert_eq!(
        errors(&with_features("x = \"zzz\"\n")),
        "features.toml:6:5: unknown type `zzz` for feature `x` of view `profile`; \
         expected one of `int`, `float`, `string`, `bool`, `float_list`"
    );
}

#[test]
fn unknown_type_in_wrong_case_suggests_type() {
    assert_eq!(
        errors(&with_features("x = \"Int\"\n")),
        "features.toml:6:5: unknown type `Int` for feature `x` of view `profile`; \
         did you mean `int`? (types: int, float, string, bool, float_list)"
    );
}

#[test]
fn feature_table_without_type() {
    assert_eq!(
        errors(&with_features("x = { description = \"d\" }\n")),
        "features.toml:6:5: feature `x` of view `profile` has no `type`; add `type = \"int\"` \
         (or float, string, bool, float_list)"
    );
}

#[test]
fn feature_value_of_wrong_toml_type() {
    assert_eq!(
        errors(&with_features("age = 5\n")),
        "features.toml:6:7: feature `age` of view `profile` must be a type name like \"int\" or \
         a table like { type = \"int\" }, found integer"
    );
}

#[test]
fn feature_type_not_a_string() {
    assert_eq!(
        errors(&with_features("x = { type = 5 }\n")),
        "features.toml:6:14: a feature's `type` must be a string, found integer"
    );
}

// ---------------------------------------------------------------------------------------------
// Defaults, len, optional
// ---------------------------------------------------------------------------------------------

#[test]
fn int_default_of_wrong_type() {
    assert_eq!(
        errors(&with_features("x = { type = \"int\", default = \"5\" }\n")),
        "features.toml:6:31: the default of feature `x` of view `profile` must be an integer, \
         like its type `int`; found string"
    );
}

#[test]
fn int_default_float_is_rejected() {
    assert_eq!(
        errors(&with_features("x = { type = \"int\", default = 1.5 }\n")),
        "features.toml:6:31: the default of feature `x` of view `profile` must be an integer, \
         like its type `int`; found float"
    );
}

#[test]
fn float_default_of_wrong_type() {
    assert_eq!(
        errors(&with_features(
            "x = { type = \"float\", default = \"1\" }\n"
        )),
        "features.toml:6:33: the default of feature `x` of view `profile` must be a number, \
         like its type `float`; found string"
    );
}

#[test]
fn string_default_of_wrong_type() {
    assert_eq!(
        errors(&with_features("x = { type = \"string\", default = 5 }\n")),
        "features.toml:6:34: the default of feature `x` of view `profile` must be a string, \
         like its type `string`; found integer"
    );
}

#[test]
fn bool_default_of_wrong_type() {
    assert_eq!(
        errors(&with_features(
            "x = { type = \"bool\", default = \"true\" }\n"
        )),
        "features.toml:6:32: the default of feature `x` of view `profile` must be true or \
         false, like its type `bool`; found string"
    );
}

#[test]
fn float_list_default() {
    assert_eq!(
        errors(&with_features(
            "x = { type = \"float_list\", len = 3, default = [1.0] }\n"
        )),
        "features.toml:6:47: feature `x` of view `profile` is a `float_list`, which cannot have \
         a default; remove it"
    );
}

#[test]
fn int_default_accepted_for_float() {
    let r = parse_ok(&with_features("x = { type = \"float\", default = 7 }\n"));
    assert_eq!(
        r.view("profile").unwrap().feature("x").unwrap().default,
        Some(DefaultValue::Float(7.0))
    );
}

#[test]
fn int_default_out_of_range() {
    assert_eq!(
        errors(&with_features(
            "x = { type = \"int\", default = 9223372036854775808 }\n"
        )),
        "features.toml:6:31: the default of feature `x` of view `profile` is out of range"
    );
}

#[test]
fn float_default_from_out_of_range_int() {
    assert_eq!(
        errors(&with_features(
            "x = { type = \"float\", default = 9223372036854775808 }\n"
        )),
        "features.toml:6:33: the default of feature `x` of view `profile` is out of range"
    );
}

#[test]
fn float_default_overflow_is_out_of_range() {
    assert_eq!(
        errors(&with_features(
            "x = { type = \"float\", default = 1e400 }\n"
        )),
        "features.toml:6:33: the default of feature `x` of view `profile` is out of range"
    );
}

#[test]
fn len_on_non_list() {
    assert_eq!(
        errors(&with_features("x = { type = \"int\", len = 3 }\n")),
        "features.toml:6:27: `len` is only for `float_list` features, and feature `x` of view \
         `profile` is `int`; remove it"
    );
}

#[test]
fn list_encoding_defaults_to_json_and_f32le_is_an_option() {
    let r = Registry::parse(
        &with_features(
            "a = { type = \"float_list\", len = 2 }\n\
             b = { type = \"float_list\", encoding = \"f32le\" }\n\
             c = { type = \"float_list\", encoding = \"json\" }\n\
             d = \"int\"\n",
        ),
        FILE,
    )
    .unwrap();
    let view = r.view("profile").unwrap();
    let encoding = |name: &str| view.feature(name).unwrap().encoding;
    assert_eq!(encoding("a"), Some(ListEncoding::Json));
    assert_eq!(encoding("b"), Some(ListEncoding::F32Le));
    assert_eq!(encoding("c"), Some(ListEncoding::Json));
    assert_eq!(encoding("d"), None);
}

#[test]
fn list_encoding_unknown_did_you_mean() {
    assert_eq!(
        errors(&with_features(
            "x = { type = \"float_list\", len = 8, encoding = \"f32\" }\n"
        )),
        "features.toml:6:48: unknown `encoding` `f32` for feature `x` of view `profile`; did \
         you mean `f32le`? (`json`: text, the default; `f32le`: little-endian f32 bytes)"
    );
    assert_eq!(
        errors(&with_features(
            "x = { type = \"float_list\", encoding = \"base64\" }\n"
        )),
        "features.toml:6:39: unknown `encoding` `base64` for feature `x` of view `profile`; \
         expected one of `json`, `f32le` (`json`: text, the default; `f32le`: little-endian f32 \
         bytes)"
    );
}

#[test]
fn list_encoding_not_a_string() {
    assert_eq!(
        errors(&with_features(
            "x = { type = \"float_list\", encoding = 4 }\n"
        )),
        "features.toml:6:39: `encoding` must be a string, found integer"
    );
}

#[test]
fn list_encoding_on_non_list() {
    assert_eq!(
        errors(&with_features(
            "x = { type = \"string\", encoding = \"json\" }\n"
        )),
        "features.toml:6:35: `encoding` is only for `float_list` features, and feature `x` of \
         view `profile` is `string`; remove it"
    );
}

#[test]
fn list_encoding_changes_the_fingerprint() {
    let of = |features: &str| {
        Registry::parse(&with_features(features), FILE)
            .unwrap()
            .fingerprint()
    };
    let json = of("x = { type = \"float_list\", len = 2 }\n");
    assert_eq!(
        json,
        of("x = { type = \"float_list\", len = 2, encoding = \"json\" }\n")
    );
    assert_ne!(
        json,
        of("x = { type = \"float_list\", len = 2, encoding = \"f32le\" }\n")
    );
}

#[test]
fn len_zero() {
    assert_eq!(
        errors(&with_features("x = { type = \"float_list\", len = 0 }\n")),
        "features.toml:6:34: `len` must be a whole number of at least 1"
    );
}

#[test]
fn len_not_a_positive_integer() {
    for value in ["-1", "\"8\"", "2.0"] {
        assert_eq!(
            errors(&with_features(&format!(
                "x = {{ type = \"float_list\", len = {value} }}\n"
            ))),
            "features.toml:6:34: `len` must be a whole number of at least 1",
            "len = {value}"
        );
    }
}

#[test]
fn default_with_optional() {
    assert_eq!(
        errors(&with_features(
            "x = { type = \"int\", default = 0, optional = true }\n"
        )),
        "features.toml:6:21: feature `x` of view `profile` has both `default` and \
         `optional = true`; an absent value cannot be both: remove one"
    );
}

#[test]
fn default_with_optional_false_is_accepted() {
    let r = parse_ok(&with_features(
        "x = { type = \"int\", default = 0, optional = false }\n",
    ));
    let x = r.view("profile").unwrap().feature("x").unwrap().clone();
    assert!(!x.optional);
    assert_eq!(x.default, Some(DefaultValue::Int(0)));
}

#[test]
fn optional_not_a_bool() {
    assert_eq!(
        errors(&with_features(
            "x = { type = \"int\", optional = \"yes\" }\n"
        )),
        "features.toml:6:32: `optional` must be true or false, found string"
    );
}

// ---------------------------------------------------------------------------------------------
// Whole files
// ---------------------------------------------------------------------------------------------

#[test]
fn all_problems_are_reported_in_file_order() {
    let src = "\
[store]
namespace = \"a b\"
version = 0
[entities.user]
[views.user-profile]
entity = \"usr\"
ttl = \"1w\"
[views.user-profile.features]
age = \"integer\"
_id = \"int\"
score = { type = \"float\", default = \"high\" }
[view.extra]
";
    let expected = format!(
        "features.toml:2:13: invalid namespace \"a b\": use ASCII letters, digits, `_`, `-` and \
         `.` (it starts every key)\n\
         features.toml:3:11: `version` 0 is not allowed: versions start at 1 (keys read \
         `fs:v1:…`)\n\
         features.toml:5:8: invalid view name: `user-profile` {NOT_AN_IDENTIFIER}\n\
         features.toml:6:10: view `user-profile` names unknown entity `usr`; did you mean \
         `user`? (declare entities as `[entities.usr]`)\n\
         features.toml:7:7: invalid duration \"1w\": unknown unit \"w\"; {DURATION_HELP}\n\
         features.toml:9:7: unknown type `integer` for feature `age` of view `user-profile`; \
         did you mean `int`? (types: int, float, string, bool, float_list)\n\
         features.toml:10:1: feature `_id` of view `user-profile` starts with `_`, which is \
         reserved for metadata such as `_updated_at`; rename it\n\
         features.toml:11:37: the default of feature `score` of view `user-profile` must be a \
         number, like its type `float`; found string\n\
         features.toml:12:2: unknown key `view` in the registry; did you mean `views`?"
    );
    let errors = Registry::parse(src, FILE).unwrap_err();
    assert_eq!(errors.to_string(), expected);
    assert_eq!(errors.diagnostics().len(), 9);
    let locations: Vec<Location> = errors.diagnostics().iter().map(|d| d.location).collect();
    let mut sorted = locations.clone();
    sorted.sort();
    assert_eq!(locations, sorted);
}

#[test]
fn diagnostics_carry_file_location_and_message() {
    let errors = Registry::parse("[store]\nversion = 0\n", "conf/registry.toml").unwrap_err();
    assert_eq!(
        errors.diagnostics(),
        [Diagnostic {
            file: "conf/registry.toml".to_owned(),
            location: Location {
                line: 2,
                column: 11
            },
            message: "`version` 0 is not allowed: versions start at 1 (keys read `fs:v1:…`)"
                .to_owned(),
        }]
    );
    assert_eq!(
        errors.to_string(),
        "conf/registry.toml:2:11: `version` 0 is not allowed: versions start at 1 (keys read \
         `fs:v1:…`)"
    );
}

#[test]
fn location_columns_count_characters() {
    // `ö`, `ß` and `ü` are two bytes each: a byte count would put the default at column 68.
    let src = with_features(
        "x = { type = \"int\", description = \"Größe über alles\", default = \"oops\" }\n",
    );
    let errors = Registry::parse(&src, FILE).unwrap_err();
    assert_eq!(
        errors.diagnostics()[0].location,
        Location {
            line: 6,
            column: 65
        }
    );
    assert_eq!(
        errors.to_string(),
        "features.toml:6:65: the default of feature `x` of view `profile` must be an integer, \
         like its type `int`; found string"
    );
    // The same for a TOML syntax error.
    assert_eq!(
        errors_of_syntax("description = \"日本語\"; x = 1\n"),
        "features.toml:5:20: invalid TOML: unexpected key or value, expected newline, `#`"
    );
}

/// `line` as the fifth line of an otherwise valid view.
fn errors_of_syntax(line: &str) -> String {
    errors(&with_view(&format!(
        "entity = \"user\"\nttl = \"1h\"\n{line}features = {{ x = \"int\" }}\n"
    )))
}

#[test]
fn valid_registry_model() {
    let src = "\
[store]
namespace = \"prod\"
version = 3

[entities.user]
description = \"A customer\"

[entities.item]

[views.user_profile]
entity = \"user\"
ttl = \"1h\"
description = \"Profile\"

[views.user_profile.features]
age = \"int\"
score = { type = \"float\", description = \"Score\" }
country = { type = \"string\", optional = true }
premium = { type = \"bool\", default = false }
embedding = { type = \"float_list\", len = 8 }

[views.item_stats]
entity = \"item\"
ttl = 900
features = { clicks = \"int\" }
";
    let r = parse_ok(src);
    assert_eq!(r.file, FILE);
    assert_eq!(r.namespace, "prod");
    assert_eq!(r.version, 3);
    assert_eq!(r.key_namespace(), "prod:v3:");
    let entities: Vec<(&str, Option<&str>)> = r
        .entities
        .iter()
        .map(|e| (e.name.as_str(), e.description.as_deref()))
        .collect();
    assert_eq!(entities, [("user", Some("A customer")), ("item", None)]);
    assert_eq!(
        r.entity("item").unwrap().location,
        Location {
            line: 8,
            column: 11
        }
    );
    let names: Vec<&str> = r.views.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["user_profile", "item_stats"]);

    let up = r.view("user_profile").unwrap();
    assert_eq!(up.entity, "user");
    assert_eq!((up.ttl_seconds, up.ttl_text.as_str()), (3_600, "1h"));
    assert_eq!(up.description.as_deref(), Some("Profile"));
    assert_eq!(
        up.location,
        Location {
            line: 10,
            column: 8
        }
    );
    let types: Vec<FeatureType> = up.features.iter().map(|f| f.ty).collect();
    assert_eq!(types, FeatureType::ALL);
    let score = up.feature("score").unwrap();
    assert_eq!(score.description.as_deref(), Some("Score"));
    assert_eq!(
        score.location,
        Location {
            line: 17,
            column: 1
        }
    );
    assert!(up.feature("country").unwrap().optional);
    assert_eq!(
        up.feature("premium").unwrap().default,
        Some(DefaultValue::Bool(false))
    );
    assert_eq!(up.feature("embedding").unwrap().len, Some(8));
    assert_eq!(up.feature("age").unwrap().len, None);

    let stats = r.view("item_stats").unwrap();
    assert_eq!((stats.ttl_seconds, stats.ttl_text.as_str()), (900, "900s"));
    assert_eq!(stats.feature_names().collect::<Vec<_>>(), ["clicks"]);
}

#[test]
fn feature_order_is_file_order() {
    let r = parse_ok(&with_features(
        "z = \"int\"\na = { type = \"float\" }\nm = \"bool\"\n[views.profile.features.b]\ntype = \"string\"\n",
    ));
    assert_eq!(
        r.view("profile")
            .unwrap()
            .feature_names()
            .collect::<Vec<_>>(),
        ["z", "a", "m", "b"]
    );
}

#[test]
fn defaults_are_parsed() {
    let r = parse_ok(&with_features(
        "\
neg = { type = \"int\", default = -42 }
hex = { type = \"int\", default = 0x10 }
octal = { type = \"int\", default = 0o17 }
binary = { type = \"int\", default = 0b101 }
thousand = { type = \"int\", default = 1_000 }
min = { type = \"int\", default = -9223372036854775808 }
underscored = { type = \"float\", default = 1_000.5 }
negative = { type = \"float\", default = -0.25 }
exponent = { type = \"float\", default = 2.5e3 }
infinite = { type = \"float\", default = inf }
neg_infinite = { type = \"float\", default = -inf }
from_hex = { type = \"float\", default = 0x10 }
text = { type = \"string\", default = \"hi\" }
yes = { type = \"bool\", default = true }
no = { type = \"bool\", default = false }
none = \"int\"
",
    ));
    let view = r.view("profile").unwrap();
    let defaults: Vec<(&str, Option<DefaultValue>)> = view
        .features
        .iter()
        .map(|f| (f.name.as_str(), f.default.clone()))
        .collect();
    assert_eq!(
        defaults,
        [
            ("neg", Some(DefaultValue::Int(-42))),
            ("hex", Some(DefaultValue::Int(16))),
            ("octal", Some(DefaultValue::Int(15))),
            ("binary", Some(DefaultValue::Int(5))),
            ("thousand", Some(DefaultValue::Int(1_000))),
            ("min", Some(DefaultValue::Int(i64::MIN))),
            ("underscored", Some(DefaultValue::Float(1_000.5))),
            ("negative", Some(DefaultValue::Float(-0.25))),
            ("exponent", Some(DefaultValue::Float(2_500.0))),
            ("infinite", Some(DefaultValue::Float(f64::INFINITY))),
            ("neg_infinite", Some(DefaultValue::Float(f64::NEG_INFINITY))),
            ("from_hex", Some(DefaultValue::Float(16.0))),
            ("text", Some(DefaultValue::String("hi".to_owned()))),
            ("yes", Some(DefaultValue::Bool(true))),
            ("no", Some(DefaultValue::Bool(false))),
            ("none", None),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Fingerprint
// ---------------------------------------------------------------------------------------------

const BASE: &str = "\
[store]
namespace = \"fs\"
version = 1

[entities.user]
description = \"A customer\"

[entities.item]

[views.profile]
entity = \"user\"
ttl = \"1h\"
description = \"Profile features\"

[views.profile.features]
age = \"int\"
score = { type = \"float\", default = 0.5, description = \"A score\" }
country = { type = \"string\", optional = true }
embedding = { type = \"float_list\", len = 4 }

[views.stats]
entity = \"item\"
ttl = \"15m\"

[views.stats.features]
clicks = { type = \"int\", default = 0 }
";

fn fingerprint(src: &str) -> String {
    parse_ok(src).fingerprint()
}

#[test]
fn fingerprint_is_sixteen_hex_digits_and_deterministic() {
    let fp = fingerprint(BASE);
    assert_eq!(fp.len(), 16, "{fp}");
    assert!(fp.chars().all(|c| c.is_ascii_hexdigit()), "{fp}");
    assert_eq!(fp, fingerprint(BASE));
}

/// The fingerprint of a registry is part of deployed code (`REGISTRY_FINGERPRINT`): a new
/// release of the registry must not change it for a schema that did not change.
#[test]
fn fingerprint_is_pinned() {
    assert_eq!(fingerprint(BASE), "3e8321b62ea7d1af");
}

#[test]
fn fingerprint_ignores_descriptions_comments_whitespace_and_view_order() {
    let base = fingerprint(BASE);
    let same = [
        (
            "description changed",
            variant(BASE, "Profile features", "Something else entirely"),
        ),
        (
            "feature description removed",
            variant(BASE, ", description = \"A score\"", ""),
        ),
        (
            "entity description changed",
            variant(BASE, "A customer", "An account"),
        ),
        (
            "comments added",
            format!(
                "# The registry\n{}",
                variant(BASE, "age = \"int\"", "age = \"int\" # years")
            ),
        ),
        (
            "whitespace changed",
            variant(
                &BASE.replace("\n\n", "\n"),
                "{ type = \"float\", default = 0.5",
                "{type=\"float\",   default=0.5",
            ),
        ),
        (
            "same ttl written in seconds",
            variant(BASE, "ttl = \"1h\"", "ttl = 3600"),
        ),
        (
            "same default written differently",
            variant(BASE, "default = 0 }", "default = 0x0 }"),
        ),
        (
            "`optional = false` spelled out",
            variant(
                BASE,
                "age = \"int\"",
                "age = { type = \"int\", optional = false }",
            ),
        ),
        (
            "views reordered",
            "\
[store]
namespace = \"fs\"
version = 1
[entities.item]
[entities.user]
[views.stats]
entity = \"item\"
ttl = \"15m\"
features = { clicks = { type = \"int\", default = 0 } }
[views.profile]
entity = \"user\"
ttl = \"1h\"
[views.profile.features]
age = \"int\"
score = { type = \"float\", default = 0.5 }
country = { type = \"string\", optional = true }
embedding = { type = \"float_list\", len = 4 }
"
            .to_owned(),
        ),
        (
            "default store written out or left out",
            variant(BASE, "[store]\nnamespace = \"fs\"\nversion = 1\n", ""),
        ),
    ];
    for (what, src) in same {
        assert_eq!(fingerprint(&src), base, "{what}:\n{src}");
    }
}

#[test]
fn fingerprint_changes_with_the_schema() {
    let base = fingerprint(BASE);
    let changed = [
        ("type", variant(BASE, "age = \"int\"", "age = \"float\"")),
        ("default", variant(BASE, "default = 0.5", "default = 0.25")),
        ("default added", variant(BASE, "age = \"int\"", "age = { type = \"int\", default = 0 }")),
        ("ttl", variant(BASE, "ttl = \"1h\"", "ttl = \"2h\"")),
        (
            "feature order",
            variant(
                BASE,
                "age = \"int\"\nscore = { type = \"float\", default = 0.5, description = \"A score\" }\n",
                "score = { type = \"float\", default = 0.5, description = \"A score\" }\nage = \"int\"\n",
            ),
        ),
        ("namespace", variant(BASE, "namespace = \"fs\"", "namespace = \"fs2\"")),
        ("version", variant(BASE, "version = 1", "version = 2")),
        ("optional", variant(BASE, ", optional = true", "")),
        ("len", variant(BASE, "len = 4", "len = 8")),
        ("entity link", variant(BASE, "entity = \"item\"", "entity = \"user\"")),
        ("feature renamed", variant(BASE, "age = \"int\"", "years = \"int\"")),
        ("view renamed", BASE.replace("views.stats", "views.counts")),
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
