//! The code generator of [fstore](https://docs.rs/fstore): [`generate`] turns a `features.toml`
//! registry into one `#[derive(FeatureView)]` struct per view and two structs per real-time
//! aggregation (its event and its windowed features), with the registry's descriptions as docs. It is shared by `fstore codegen` (which prints its output formatted with
//! prettyplease) and `fstore::registry!`: one generator, two front doors. Its output is ordinary
//! Rust that a reader can check against `features.toml` line by line:
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
//! let code = fstore_codegen::generate(&registry).to_string();
//! assert!(code.contains("pub struct UserRisk"));
//! assert!(code.contains("# [fstore (default = 0)] pub txn_count : i64"));
//! ```

mod aggregation;
mod construct;

pub use aggregation::aggregation_spec;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

use fstore_registry::{
    is_keyword, pascal_case, DefaultValue, Feature, FeatureType, Registry, View,
};

/// How [`generate_with`] writes its items, beyond what the registry says.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// The path through which generated code names fstore (`my_fstore`, `crate::reexported`),
    /// for a crate that renamed its dependency or re-exports it; `None` is `::fstore`.
    pub crate_path: Option<TokenStream>,
    /// Derives added to every struct after `FeatureView, Debug, Clone, PartialEq`, such as
    /// `serde::Serialize`; the caller leaves out the ones already there.
    pub derives: Vec<TokenStream>,
}

/// The Rust items of `registry`: a `REGISTRY_FINGERPRINT` constant, then for each view, in file
/// order, a public struct, its builder and, where every feature has a default, `Default`; then
/// for each aggregation, in file order, its event struct and its features struct (see
/// [Aggregations](#aggregations)).
///
/// Each struct is named after its view in PascalCase (`user_profile` → `UserProfile`), derives
/// `::fstore::FeatureView`, `Debug`, `Clone` and `PartialEq`, and carries
/// `#[feature_view(name, entity, ttl, version, namespace)]` with the registry's values, so that its keys
/// and expiry are the ones every other reader and writer of the registry uses. Fields follow the
/// view's features in file order:
///
/// | registry | field |
/// |---|---|
/// | `int`, `float`, `string`, `bool`, `float_list` | `i64`, `f64`, `String`, `bool`, `Vec<f32>` |
/// | `optional = true` | `Option<T>` |
/// | `default = v` | `#[fstore(default = v)]` |
/// | `float_list` with `len = n`, `encoding = "e"` (default `"json"`) | `#[fstore(len = n, encoding = "e")]`, checked on every read and write |
/// | `string` with `vocab = [...]` | `#[fstore(vocab = [...])]`: writes outside it are noted (and refused by `Store::refusing_out_of_vocab`) |
/// | a name that is a Rust keyword (`type`) | a raw identifier (`r#type`), stored as `type` |
/// | `description` | `///` docs |
///
/// A float default that no literal can write (`nan`, `inf`, `-inf`) becomes `f64::NAN`,
/// `f64::INFINITY` or `-f64::INFINITY`, which the derive accepts as defaults. Field types are written `String`,
/// `Option<…>` and `Vec<f32>`, except when a view's struct would shadow one of them (a view named
/// `string`, `option` or `vec`): then every field type is a full path (`::std::string::String`).
///
/// Rows are built so that adding a feature with a default (or an optional one) to the registry
/// breaks no writer: `UserProfile::builder()` returns a `UserProfileBuilder` with one setter per
/// feature, whose `build()` exists only once every required feature (no default, not optional)
/// is set, so that a missing one is a compile error; the others start at the registry's default
/// or `None`. A view whose features all have a default or are optional also implements
/// `Default` with those values.
///
/// # Aggregations
///
/// An aggregation `user_txn` becomes two structs, each deriving `Debug`, `Clone` and `PartialEq`
/// (plus [`Options::derives`]), with docs from the registry's descriptions:
///
/// - `UserTxnEvent`, one public field per event field in file order (`int`, `float`, `string`,
///   `bool` → `i64`, `f64`, `String`, `bool`), implementing `fstore::AggregationEvent`, with
///   `record(self, &store, id, ts_ms)`, `record_at(…, now_ms)` and
///   `UserTxnEvent::record_batch(&store, [(id, ts_ms, event), …])`;
/// - `UserTxn`, one public field per feature in file order, of the type
///   [`AggFunction::result_rust_type`](fstore_registry::AggFunction::result_rust_type) gives
///   (`count` `i64`, `sum` `i64` or `f64`, `avg` `Option<f64>`, `min`/`max`/`last` an `Option`
///   of the field's type, `distinct` `u64`), implementing `fstore::AggregationFeatures`, with
///   `UserTxn::read(&store, id)`, `read_at(&store, id, now_ms)` and `read_batch(&store, ids)`.
///
/// Both share one `fstore::aggregate::Spec`, built once (a `OnceLock`) from the declaration
/// written out as literals: name, key prefix (`Registry::key_prefix`), finest granularity, event
/// fields, and each feature's function, field, window and resolution; it panics, naming the
/// aggregation, only if those literals are inconsistent, which no registry that passed
/// [`Registry::parse`] produces.
///
/// # Panics
/// If a view, aggregation or field name is not an identifier, which [`Registry::parse`] rules
/// out.
pub fn generate(registry: &Registry) -> TokenStream {
    generate_with(registry, &Options::default())
}

/// [`generate`], with the crate path and the extra derives of `options`.
///
/// # Panics
/// As [`generate`].
pub fn generate_with(registry: &Registry, options: &Options) -> TokenStream {
    let fingerprint = registry.fingerprint();
    let fingerprint_docs = docs(&wrap(
        "The fingerprint of the registry this code was generated from, as `fstore fingerprint` \
         prints it. It changes with anything that is stored or read (names, types, defaults, list \
         lengths and encodings, TTLs, namespace, version) and not with descriptions or formatting: \
         compare it with the writers' (`fstore fingerprint features.toml` in their CI) to detect a schema that has \
         drifted from this code.",
    ));
    let paths = TypePaths {
        full: registry
            .views
            .iter()
            .map(|v| &v.name)
            .chain(registry.aggregations.iter().map(|a| &a.name))
            .any(|name| PRELUDE_TYPES.contains(&pascal_case(name).as_str())),
    };
    let views = registry
        .views
        .iter()
        .map(|view| view_struct(registry, view, paths, options));
    let aggregations = registry
        .aggregations
        .iter()
        .map(|aggregation| aggregation::items(registry, aggregation, paths, options));
    quote! {
        #fingerprint_docs
        pub const REGISTRY_FINGERPRINT: &str = #fingerprint;

        #(#views)*

        #(#aggregations)*
    }
}

/// The prelude types that generated fields use, which a view's or an aggregation's struct could
/// shadow.
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

/// The struct of one view, its builder and, where it can have one, its `Default`.
fn view_struct(
    registry: &Registry,
    view: &View,
    paths: TypePaths,
    options: &Options,
) -> TokenStream {
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
    let members: Vec<construct::Member> = view
        .features
        .iter()
        .map(|f| construct::Member::new(f, paths))
        .collect();
    text.push_str("\n\n");
    text.push_str(&construct::docs(&ident, &members));
    let docs = docs(&text);

    let name = &view.name;
    let entity = &view.entity;
    let version = Literal::u32_unsuffixed(registry.version);
    let namespace = &registry.namespace;
    let fields = view.features.iter().map(|f| field(f, paths));
    let (derive_path, crate_attr) = match &options.crate_path {
        Some(path) => {
            let written = path.to_string().replace(' ', "");
            (quote!(#path::FeatureView), quote!(crate = #written,))
        }
        None => (quote!(::fstore::FeatureView), TokenStream::new()),
    };
    let derives = &options.derives;
    let construct = construct::items(&ident, &members);
    quote! {
        #docs
        #[derive(#derive_path, Debug, Clone, PartialEq #(, #derives)*)]
        #[feature_view(#crate_attr name = #name, entity = #entity, ttl = #ttl, version = #version, namespace = #namespace)]
        pub struct #ident {
            #(#fields)*
        }

        #construct
    }
}

/// The field of one feature, with its docs and `#[fstore]` attribute.
fn field(feature: &Feature, paths: TypePaths) -> TokenStream {
    let ident = field_ident(feature);
    let ty = field_type(feature, paths);

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
    // A list's declaration, which its reads and writes check: the registry's, spelled out.
    let list = feature.encoding.map(|encoding| {
        let encoding = encoding.name();
        match feature.len {
            Some(len) => {
                let len = Literal::usize_unsuffixed(len);
                quote!(#[fstore(len = #len, encoding = #encoding)])
            }
            None => quote!(#[fstore(encoding = #encoding)]),
        }
    });
    // A string's vocabulary: writes note values outside it (a store made with
    // `refusing_out_of_vocab` refuses them).
    let vocab = feature.vocab.as_ref().map(|vocab| {
        let entries = vocab.iter().map(String::as_str);
        quote!(#[fstore(vocab = [#(#entries),*])])
    });
    let docs = docs(&text);
    quote! {
        #docs
        #default
        #list
        #vocab
        pub #ident: #ty,
    }
}

/// The field's name: the feature's, raw (`r#type`) when it is a keyword.
fn field_ident(feature: &Feature) -> Ident {
    if is_keyword(&feature.name) {
        Ident::new_raw(&feature.name, Span::call_site())
    } else {
        Ident::new(&feature.name, Span::call_site())
    }
}

/// The field's type: the feature type's, in an `Option` when the feature is optional.
fn field_type(feature: &Feature, paths: TypePaths) -> TokenStream {
    let scalar = scalar_type(feature.ty, paths);
    if feature.optional {
        let option = paths.option();
        quote!(#option<#scalar>)
    } else {
        scalar
    }
}

/// The Rust type of a feature type.
fn scalar_type(ty: FeatureType, paths: TypePaths) -> TokenStream {
    match ty {
        FeatureType::Int => quote!(i64),
        FeatureType::Float => quote!(f64),
        FeatureType::String => paths.string(),
        FeatureType::Bool => quote!(bool),
        FeatureType::FloatList => {
            let vec = paths.vec();
            quote!(#vec<f32>)
        }
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
