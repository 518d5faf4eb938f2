//! What `generate` makes of a registry: one struct per view in file order, the registry's key
//! layout and TTLs, field types, raw identifiers, defaults and docs, as compact token text.

use fstore_codegen::generate;
use fstore_registry::Registry;

/// The generated code of a registry with one `user` entity and one view `v` whose features
/// table is `features`, as compact token text.
fn code_of(features: &str) -> String {
    let source = format!(
        "[entities.user]\n[views.v]\nentity = \"user\"\nttl = \"1h\"\n\
         [views.v.features]\n{features}"
    );
    let registry = Registry::parse(&source, "test.toml").unwrap();
    generate(&registry).to_string()
}

#[test]
fn one_struct_per_view_in_file_order_with_the_registry_key_layout() {
    let registry = Registry::parse(
        "[store]\nnamespace = \"risk\"\nversion = 3\n\
         [entities.user]\ndescription = \"A customer account\"\n\
         [views.user_risk_profile]\nentity = \"user\"\nttl = \"15m\"\n\
         description = \"Fraud signals\"\n\
         [views.user_risk_profile.features]\nfraud_score = \"float\"\n\
         [views.clicks]\nentity = \"user\"\nttl = 900\n\
         [views.clicks.features]\nn = \"int\"\n",
        "test.toml",
    )
    .unwrap();
    let code = generate(&registry).to_string();
    let risk = code.find("pub struct UserRiskProfile").unwrap();
    let clicks = code.find("pub struct Clicks").unwrap();
    assert!(risk < clicks, "{code}");
    assert!(code.contains(
        "# [derive (:: fstore :: FeatureView , Debug , Clone , PartialEq)] \
         # [feature_view (name = \"user_risk_profile\" , entity = \"user\" , ttl = \"15m\" , \
         version = 3 , namespace = \"risk\")] pub struct UserRiskProfile { pub fraud_score : f64 , }"
    ));
    // An integer TTL is written in seconds.
    assert!(code.contains("ttl = \"900s\""), "{code}");
    assert!(code.contains(&format!(
        "pub const REGISTRY_FINGERPRINT : & str = \"{}\"",
        registry.fingerprint()
    )));
    // The generator's sentences are wrapped at 92 characters.
    assert!(
        code.contains(
            "# [doc = \" Fraud signals\"] # [doc = \"\"] \
         # [doc = \" Feature view `user_risk_profile` of entity `user` (A customer account): \
         one hash per entity\"] \
         # [doc = \" at `risk:v3:user_risk_profile:{id}`, expiring after `15m`.\"] \
         # [doc = \"\"] # [doc = \" Build rows with"
        ),
        "{code}"
    );
    assert!(
        code.contains(
            "# [doc = \" Feature view `clicks` of entity `user` (A customer account): one hash \
         per entity at\"] \
         # [doc = \" `risk:v3:clicks:{id}`, expiring after `900s`.\"] # [doc = \"\"] \
         # [doc = \" Build rows with"
        ),
        "{code}"
    );
}

#[test]
fn ttls_read_back_as_the_registry_seconds() {
    for (written, expected) in [("\"7d\"", "7d"), ("3600", "3600s"), ("0x10", "16s")] {
        let registry = Registry::parse(
            &format!(
                "[entities.user]\n[views.v]\nentity = \"user\"\nttl = {written}\n\
                 [views.v.features]\na = \"int\"\n"
            ),
            "test.toml",
        )
        .unwrap();
        let code = generate(&registry).to_string();
        assert!(code.contains(&format!("ttl = \"{expected}\"")), "{code}");
        assert!(
            code.contains(&format!("# [doc = \" `{expected}`.\"]")),
            "{code}"
        );
    }
}

#[test]
fn types_map_to_rust_types() {
    let code =
        code_of("a = \"int\"\nb = \"float\"\nc = \"string\"\nd = \"bool\"\ne = \"float_list\"\n");
    assert!(code.contains(
        "pub a : i64 , pub b : f64 , pub c : String , pub d : bool , \
         # [fstore (encoding = \"json\")] pub e : Vec < f32 > ,"
    ));
}

#[test]
fn a_struct_named_like_a_prelude_type_makes_field_types_full_paths() {
    let registry = Registry::parse(
        "[entities.user]\n[views.option]\nentity = \"user\"\nttl = \"1h\"\n\
         [views.option.features]\nc = { type = \"string\", optional = true }\n\
         e = \"float_list\"\n",
        "test.toml",
    )
    .unwrap();
    let code = generate(&registry).to_string();
    assert!(
        code.contains(
            "pub struct Option { pub c : :: core :: option :: Option < :: std :: string :: \
             String > , # [fstore (encoding = \"json\")] pub e : :: std :: vec :: Vec < f32 > , }"
        ),
        "{code}"
    );
}

#[test]
fn keyword_features_become_raw_identifiers() {
    let code = code_of("type = \"string\"\nmatch = { type = \"int\", default = 1 }\n");
    assert!(code.contains("pub r#type : String"), "{code}");
    assert!(
        code.contains("# [fstore (default = 1)] pub r#match : i64"),
        "{code}"
    );
}

#[test]
fn optional_features_are_options() {
    let code = code_of(
        "country = { type = \"string\", optional = true }\n\
         embedding = { type = \"float_list\", optional = true }\n\
         age = { type = \"int\", optional = false }\n",
    );
    assert!(code.contains("pub country : Option < String > ,"), "{code}");
    assert!(
        code.contains("pub embedding : Option < Vec < f32 > > ,"),
        "{code}"
    );
    assert!(code.contains("pub age : i64 ,"), "{code}");
}

#[test]
fn defaults_of_each_kind_are_literals() {
    let code = code_of(
        "i = { type = \"int\", default = 7 }\n\
         neg = { type = \"int\", default = -9223372036854775808 }\n\
         f = { type = \"float\", default = 0.5 }\n\
         whole = { type = \"float\", default = 3 }\n\
         zero = { type = \"float\", default = 0.0 }\n\
         huge = { type = \"float\", default = 1e300 }\n\
         tiny = { type = \"float\", default = -1.5e-7 }\n\
         s = { type = \"string\", default = \"say \\\"hi\\\"\\n\" }\n\
         t = { type = \"bool\", default = true }\n\
         b = { type = \"bool\", default = false }\n",
    );
    for expected in [
        "# [fstore (default = 7)] pub i : i64",
        "# [fstore (default = - 9223372036854775808)] pub neg : i64",
        "# [fstore (default = 0.5)] pub f : f64",
        "# [fstore (default = 3.0)] pub whole : f64",
        "# [fstore (default = 0.0)] pub zero : f64",
        "# [fstore (default = 1e300)] pub huge : f64",
        "# [fstore (default = - 1.5e-7)] pub tiny : f64",
        "# [fstore (default = \"say \\\"hi\\\"\\n\")] pub s : String",
        "# [fstore (default = true)] pub t : bool",
        "# [fstore (default = false)] pub b : bool",
    ] {
        assert!(code.contains(expected), "no `{expected}` in {code}");
    }
}

#[test]
fn non_finite_defaults_become_float_constants() {
    let code = code_of(
        "score = { type = \"float\", default = nan }\n\
         cap = { type = \"float\", default = -inf }\n\
         top = { type = \"float\", default = inf }\n",
    );
    assert!(
        code.contains("# [fstore (default = f64 :: NAN)] pub score : f64"),
        "{code}"
    );
    assert!(
        code.contains("# [fstore (default = - f64 :: INFINITY)] pub cap : f64"),
        "{code}"
    );
    assert!(
        code.contains("# [fstore (default = f64 :: INFINITY)] pub top : f64"),
        "{code}"
    );
}

#[test]
fn descriptions_become_docs() {
    let code = code_of(
        "plain = \"int\"\n\
         ltv = { type = \"float\", description = \"Sum of order values, EUR\" }\n\
         multi = { type = \"string\", description = \"\"\"\nFirst line.\n\nSecond \
         paragraph.\n\"\"\" }\n\
         emb = { type = \"float_list\", len = 8, description = \"Taste\" }\n",
    );
    assert!(code.contains("{ pub plain : i64 ,"), "{code}");
    assert!(
        code.contains("# [doc = \" Sum of order values, EUR\"] pub ltv : f64"),
        "{code}"
    );
    assert!(
        code.contains(
            "# [doc = \" First line.\"] # [doc = \"\"] # [doc = \" Second paragraph.\"] \
             pub multi : String"
        ),
        "{code}"
    );
    assert!(
        code.contains(
            "# [doc = \" Taste\"] # [doc = \"\"] # [doc = \" 8 floats (`len = 8`).\"] \
             # [fstore (len = 8 , encoding = \"json\")] pub emb : Vec < f32 >"
        ),
        "{code}"
    );
}

#[test]
fn list_declarations_become_field_attributes() {
    let code = code_of(
        "a = { type = \"float_list\", len = 8 }\n\
         b = { type = \"float_list\", len = 64, encoding = \"f32le\" }\n\
         c = { type = \"float_list\", encoding = \"f32le\", optional = true }\n",
    );
    assert!(
        code.contains("# [fstore (len = 8 , encoding = \"json\")] pub a : Vec < f32 > ,"),
        "{code}"
    );
    assert!(
        code.contains("# [fstore (len = 64 , encoding = \"f32le\")] pub b : Vec < f32 > ,"),
        "{code}"
    );
    assert!(
        code.contains("# [fstore (encoding = \"f32le\")] pub c : Option < Vec < f32 > > ,"),
        "{code}"
    );
}
