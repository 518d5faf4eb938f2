//! [`generate`](crate::codegen::generate) is shared by `fstore codegen` (which prints its output
//! formatted with prettyplease) and `fstore::registry!`: one generator, two front doors. Its
//! output is ordinary Rust that a reader can check against `features.toml` line by line:
//!
//! ```
//! let registry = fstore_registry::Registry::parse(
//!     r#"
//! [entities.user]
//! [views.user_risk]
//! entity = "user"
//! ttl = "15m"
//! [views.user_risk.features]
//! fraud_score = "float"
//! txn_count = { type = "int", default = 0 }
//! "#,
//!     "features.toml",
//! )
//! .unwrap();
//! let code = fstore_registry::codegen::generate(&registry).to_string();
//! assert!(code.contains("pub struct UserRisk"));
//! assert!(code.contains("# [fstore (default = 0)] pub txn_count : i64"));
//! ```

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

use crate::{is_keyword, pascal_case, DefaultValue, Feature, FeatureType};
use crate::{Registry, View};

/// The Rust items of `registry`: a `REGISTRY_FINGERPRINT` constant, then one public struct per
/// view, in file order.
///
/// Each struct is named after its view in PascalCase (`user_profile` → `UserProfile`), derives
/// `::fstore::FeatureView`, `Debug`, `Clone` and `PartialEq`, and carries
/// `#[feature_view(name, ttl, version, namespace)]` with the registry's values, so that its keys
/// and expiry are the ones every other reader and writer of the registry uses. Fields follow the
/// view's features in file order:
///
/// | registry | field |
/// |---|---|
/// | `int`, `float`, `string`, `bool`, `float_list` | `i64`, `f64`, `String`, `bool`, `Vec<f32>` |
/// | `optional = true` | `Option<T>` |
/// | `default = v` | `#[fstore(default = v)]` |
/// | a name that is a Rust keyword (`type`) | a raw identifier (`r#type`), stored as `type` |
/// | `description` | `///` docs |
///
/// A float default that no literal can write (`nan`, `inf`, `-inf`) becomes `f64::NAN`,
/// `f64::INFINITY` or `-f64::INFINITY`, which the derive accepts as defaults. Field types are written `String`,
/// `Option<…>` and `Vec<f32>`, except when a view's struct would shadow one of them (a view named
/// `string`, `option` or `vec`): then every field type is a full path (`::std::string::String`).
///
/// # Panics
/// If a view or feature name is not an identifier, which [`Registry::parse`] rules out.
pub fn generate(registry: &Registry) -> TokenStream {
    let fingerprint = registry.fingerprint();
    let fingerprint_docs = docs(&wrap(
        "The fingerprint of the registry this code was generated from, as `fstore fingerprint` \
         prints it. It changes with anything that is stored or read (names, types, defaults, \
         TTLs, namespace, version) and not with descriptions or formatting: compare it with the \
         writers' (`fstore fingerprint features.toml` in their CI) to detect a schema that has \
         drifted from this code.",
    ));
    let paths = TypePaths {
        full: registry
            .views
            .iter()
            .any(|v| PRELUDE_TYPES.contains(&pascal_case(&v.name).as_str())),
    };
    let views = registry
        .views
        .iter()
        .map(|view| view_struct(registry, view, paths));
    quote! {
        #fingerprint_docs
        pub const REGISTRY_FINGERPRINT: &str = #fingerprint;

        #(#views)*
    }
}

/// The prelude types that generated fields use, which a view's struct could shadow.
const PRELUDE_TYPES: [&str; 3] = ["String", "Option", "Vec"];

/// How field types name the prelude types: as a person writes them, or as full paths that a
/// struct named like one of them cannot shadow.
#[derive(Clone, Copy)]
struct TypePaths {
    full: bool,
}

impl TypePaths {
    fn string(self) -> TokenStream {
        if self.full {
            quote!(::std::string::String)
        } else {
            quote!(String)
        }
    }

    fn option(self) -> TokenStream {
        if self.full {
            quote!(::core::option::Option)
        } else {
            quote!(Option)
        }
    }

    fn vec(self) -> TokenStream {
        if self.full {
            quote!(::std::vec::Vec)
        } else {
            quote!(Vec)
        }
    }
}

/// The struct of one view.
fn view_struct(registry: &Registry, view: &View, paths: TypePaths) -> TokenStream {
    let ident = Ident::new(&pascal_case(&view.name), Span::call_site());
    let mut text = String::new();
    if let Some(description) = &view.description {
        text.push_str(description.trim_end());
        text.push_str("\n\n");
    }
    let entity = match registry
        .entity(&view.entity)
        .and_then(|e| e.description.as_deref())
    {
        Some(description) => format!("`{}` ({})", view.entity, description.trim()),
        None => format!("`{}`", view.entity),
    };
    // The TTL as written (`"1h"`), or in seconds when it was written as a number.
    let ttl = &view.ttl_text;
    text.push_str(&wrap(&format!(
        "Feature view `{}` of entity {entity}: one hash per entity at `{}{}:{{id}}`, expiring \
         after `{}`.",
        view.name,
        registry.key_namespace(),
        view.name,
        ttl,
    )));
    let docs = docs(&text);

    let name = &view.name;
    let version = Literal::u32_unsuffixed(registry.version);
    let namespace = &registry.namespace;
    let fields = view.features.iter().map(|f| field(f, paths));
    quote! {
        #docs
        #[derive(::fstore::FeatureView, Debug, Clone, PartialEq)]
        #[feature_view(name = #name, ttl = #ttl, version = #version, namespace = #namespace)]
        pub struct #ident {
            #(#fields)*
        }
    }
}

/// The field of one feature, with its docs and `#[fstore]` attribute.
fn field(feature: &Feature, paths: TypePaths) -> TokenStream {
    let ident = if is_keyword(&feature.name) {
        Ident::new_raw(&feature.name, Span::call_site())
    } else {
        Ident::new(&feature.name, Span::call_site())
    };
    let scalar = match feature.ty {
        FeatureType::Int => quote!(i64),
        FeatureType::Float => quote!(f64),
        FeatureType::String => paths.string(),
        FeatureType::Bool => quote!(bool),
        FeatureType::FloatList => {
            let vec = paths.vec();
            quote!(#vec<f32>)
        }
    };
    let ty = if feature.optional {
        let option = paths.option();
        quote!(#option<#scalar>)
    } else {
        scalar
    };

    let mut text = feature
        .description
        .as_deref()
        .map(str::trim_end)
        .unwrap_or_default()
        .to_owned();
    let mut note = |line: String| {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&wrap(&line));
    };
    if let Some(len) = feature.len {
        note(format!("{len} floats (`len = {len}`)."));
    }
    let default = feature.default.as_ref().map(|value| {
        let value = default_tokens(value);
        quote!(#[fstore(default = #value)])
    });
    let docs = docs(&text);
    quote! {
        #docs
        #default
        pub #ident: #ty,
    }
}

/// The tokens of a default: a literal, or a float constant where no literal can write it.
fn default_tokens(value: &DefaultValue) -> TokenStream {
    let signed = |negative: bool, magnitude: TokenStream| {
        if negative {
            quote!(-#magnitude)
        } else {
            magnitude
        }
    };
    match value {
        DefaultValue::Int(i) => {
            let magnitude = Literal::u64_unsuffixed(i.unsigned_abs());
            signed(*i < 0, quote!(#magnitude))
        }
        DefaultValue::Float(x) if x.is_nan() => quote!(f64::NAN),
        DefaultValue::Float(x) if x.is_infinite() => signed(*x < 0.0, quote!(f64::INFINITY)),
        DefaultValue::Float(x) => {
            // `{:?}` is the shortest round-trip text and always has a `.` or an exponent
            // (`0.0`, `1e300`, `1e-7`), so the literal stays a float literal.
            let text = format!("{:?}", x.abs());
            let magnitude = text
                .parse::<Literal>()
                .map_or_else(|_| quote!(0.0), |lit| quote!(#lit));
            signed(x.is_sign_negative(), magnitude)
        }
        DefaultValue::String(s) => {
            let literal = Literal::string(s);
            quote!(#literal)
        }
        DefaultValue::Bool(true) => quote!(true),
        DefaultValue::Bool(false) => quote!(false),
    }
}

/// `text` wrapped at word boundaries into lines of at most 92 characters, so that a `///` line of
/// a field stays within 100 columns. Only for the generator's own sentences: descriptions are
/// Markdown the registry's author laid out, and are kept as written.
fn wrap(text: &str) -> String {
    const WIDTH: usize = 92;
    let mut out = String::with_capacity(text.len());
    let mut line_len = 0;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if line_len > 0 && line_len + 1 + len > WIDTH {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out
}

/// `text` as `#[doc = "..."]` attributes, one per line, each with the space `///` would have.
fn docs(text: &str) -> TokenStream {
    if text.is_empty() {
        return TokenStream::new();
    }
    let lines = text.lines().map(|line| {
        let line = line.trim_end();
        let line = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

#[cfg(test)]
mod tests {
    use super::generate;
    use crate::Registry;

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
             # [feature_view (name = \"user_risk_profile\" , ttl = \"15m\" , version = 3 , \
             namespace = \"risk\")] pub struct UserRiskProfile { pub fraud_score : f64 , }"
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
             # [derive"
            ),
            "{code}"
        );
        assert!(code.contains(
            "# [doc = \" Feature view `clicks` of entity `user` (A customer account): one hash \
             per entity at\"] \
             # [doc = \" `risk:v3:clicks:{id}`, expiring after `900s`.\"] # [derive"
        ), "{code}");
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
        let code = code_of(
            "a = \"int\"\nb = \"float\"\nc = \"string\"\nd = \"bool\"\ne = \"float_list\"\n",
        );
        assert!(code.contains(
            "pub a : i64 , pub b : f64 , pub c : String , pub d : bool , pub e : Vec < f32 > ,"
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
                 String > , pub e : :: std :: vec :: Vec < f32 > , }"
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
                 pub emb : Vec < f32 >"
            ),
            "{code}"
        );
    }
}
