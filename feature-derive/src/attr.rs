//! Attribute parsing: `#[feature_view(...)]` or `#[feature_vector(...)]` on the struct,
//! `#[fstore(...)]` on fields (`#[feature]` is a built-in attribute, so it cannot be a derive
//! helper). Each key is read with `parse_nested_meta`; an unknown or repeated key is an error on
//! the key, and the keys after it are still read.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::parse::Parse;
use syn::{Attribute, Expr, Ident, Lit, LitInt, LitStr, Path, Token};

use crate::ctxt::Ctxt;

/// Which derive is being expanded: it decides the attributes read and the keys they accept.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Derive {
    /// `#[derive(FeatureView)]`.
    View,
    /// `#[derive(FeatureVector)]`.
    Vector,
}

impl Derive {
    /// The derive's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Derive::View => "FeatureView",
            Derive::Vector => "FeatureVector",
        }
    }

    /// What the derive makes of a struct, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Derive::View => "a feature view",
            Derive::Vector => "a feature vector",
        }
    }
}

/// The keys `#[feature_view]` accepts.
const VIEW_KEYS: &str = "`name`, `entity`, `ttl`, `version`, `namespace`, `registry` or `crate`";
/// The keys `#[feature_vector]` accepts.
const VECTOR_KEYS: &str = "`registry`, `key`, `max_age`, `namespace`, `version` or `crate`";
/// The keys `#[fstore]` accepts on a `FeatureView` field.
const FIELD_KEYS: &str = "`default`, `rename`, `vocab`, `len` or `encoding`";
/// The keys `#[fstore]` accepts on a `FeatureVector` field.
const VECTOR_FIELD_KEYS: &str = "`view`, `aggregation`, `name` (or `rename`), `default`, `skip`, \
                                 `vocab`, `encode`, `len` or `encoding`";

/// Where the keys live, the same in both struct attributes: `registry = "features.toml"`, whose
/// `[store]` fixes them, or `namespace = "fs"` and `version = 1` given here.
#[derive(Default)]
pub struct StoreAttrs {
    pub registry: Option<LitStr>,
    pub namespace: Option<LitStr>,
    pub version: Option<LitInt>,
}

/// `#[feature_view(name = "...", ttl = "1h", version = 1, namespace = "fs")]`, or
/// `#[feature_view(registry = "features.toml", name = "...")]`.
#[derive(Default)]
pub struct ViewAttrs {
    pub name: Option<LitStr>,
    /// `entity = "user"`: what the view's ids name (a registry's view has its own).
    pub entity: Option<LitStr>,
    pub ttl: Option<Lit>,
    pub store: StoreAttrs,
    /// `crate = "my_fstore"`: the path generated code names fstore by.
    pub krate: Option<Path>,
    /// A key was unknown or did not parse: a missing key may be that one, misspelt.
    pub incomplete: bool,
}

/// `#[feature_vector(registry = "features.toml", max_age(view = "10m"), namespace = "fs",
/// version = 1)]`.
#[derive(Default)]
pub struct VectorAttrs {
    pub store: StoreAttrs,
    /// `crate = "my_fstore"`: the path generated code names fstore by.
    pub krate: Option<Path>,
    /// `max_age(view = "10m", other = 600)`: each view's key (for spans) and duration.
    pub max_age: Option<Vec<(Ident, Lit)>>,
    /// `key(user, item)`: the entities of a multi-entity vector, in key order (the `key` ident
    /// first, for spans).
    pub key: Option<(Ident, Vec<Ident>)>,
}

/// `#[fstore(default = ..., rename = "...", len = 8, encoding = "json")]` on a `FeatureView`
/// field; a `FeatureVector` field adds `view` (or `aggregation`), `name` (a synonym of `rename`),
/// `skip`, `vocab` and `encode`.
#[derive(Default)]
pub struct FieldAttrs {
    pub rename: Option<LitStr>,
    pub default: Option<Expr>,
    pub view: Option<LitStr>,
    /// `aggregation = "user_txn"`: a vector field read from a real-time aggregation of the
    /// registry instead of a view.
    pub aggregation: Option<LitStr>,
    /// The `skip` key, for spans.
    pub skip: Option<Ident>,
    pub vocab: Option<Vocab>,
    pub encode: Option<Keyed<LitStr>>,
    pub len: Option<Keyed<LitInt>>,
    /// `encoding = "json"` or `"f32le"`: how a `Vec<f32>` is stored.
    pub encoding: Option<Keyed<LitStr>>,
    /// A key was unknown or did not parse: a missing `view` may be that one, misspelt.
    pub incomplete: bool,
}

/// A value with the key it was given under, so that errors about the key's use (such as `len` on
/// a field that is not a list) sit on the key.
pub struct Keyed<T> {
    pub key: Ident,
    pub value: T,
}

/// `vocab = ["a", "b"]`: the entries, checked to be distinct non-empty strings.
pub struct Vocab {
    pub key: Ident,
    pub entries: Vec<LitStr>,
}

impl Vocab {
    /// The entries' values, in order.
    pub fn values(&self) -> Vec<String> {
        self.entries.iter().map(LitStr::value).collect()
    }
}

/// Reads every `#[feature_view(...)]` of the struct.
pub fn view_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> ViewAttrs {
    const A: &str = "feature_view";
    let mut out = ViewAttrs::default();
    let parsed = each_key(cx, attrs, A, |cx, meta| match key(meta).as_deref() {
        Some("name") => set(cx, meta, A, &mut out.name),
        Some("entity") => set(cx, meta, A, &mut out.entity),
        Some("registry") => set(cx, meta, A, &mut out.store.registry),
        Some("ttl") => set(cx, meta, A, &mut out.ttl),
        Some("version") => set(cx, meta, A, &mut out.store.version),
        Some("namespace") => set(cx, meta, A, &mut out.store.namespace),
        Some("crate") => set_crate(cx, meta, A, &mut out.krate),
        _ => {
            out.incomplete = true;
            unknown_key(cx, meta, A, VIEW_KEYS)
        }
    });
    out.incomplete |= !parsed;
    out
}

/// Reads every `#[feature_vector(...)]` of the struct.
pub fn vector_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> VectorAttrs {
    const A: &str = "feature_vector";
    let mut out = VectorAttrs::default();
    each_key(cx, attrs, A, |cx, meta| match key(meta).as_deref() {
        Some("registry") => set(cx, meta, A, &mut out.store.registry),
        Some("namespace") => set(cx, meta, A, &mut out.store.namespace),
        Some("version") => set(cx, meta, A, &mut out.store.version),
        Some("crate") => set_crate(cx, meta, A, &mut out.krate),
        Some("max_age") => {
            let v = max_age(cx, meta)?;
            set_once(cx, meta, A, &mut out.max_age, v);
            Ok(())
        }
        Some("key") => {
            let v = entity_keys(cx, meta)?;
            set_once(cx, meta, A, &mut out.key, (key_ident(meta), v));
            Ok(())
        }
        _ => unknown_key(cx, meta, A, VECTOR_KEYS),
    });
    out
}

/// The path generated code names fstore by, as `crate = ...` of the struct attribute of
/// `derive` gives it, else `::fstore`. Errors in the attribute are left to the full parse.
pub fn crate_path(attrs: &[Attribute], derive: Derive) -> TokenStream {
    let mut quiet = Ctxt::default();
    let krate = match derive {
        Derive::View => view_attrs(&mut quiet, attrs).krate,
        Derive::Vector => vector_attrs(&mut quiet, attrs).krate,
    };
    fstore_path(krate.as_ref())
}

/// `krate`, or `::fstore` when none was given.
pub fn fstore_path(krate: Option<&Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path),
        None => quote!(::fstore),
    }
}

/// Parses `crate = "path"` (or `crate = path`) into `slot`, once.
pub fn set_crate(
    cx: &mut Ctxt,
    meta: &ParseNestedMeta,
    attr: &str,
    slot: &mut Option<Path>,
) -> syn::Result<()> {
    let value = crate_value(meta)?;
    set_once(cx, meta, attr, slot, value);
    Ok(())
}

/// The value of `crate = "my_fstore"`, `crate = "crate::reexported"` or, unquoted,
/// `crate = my_fstore`.
fn crate_value(meta: &ParseNestedMeta) -> syn::Result<Path> {
    let value = meta.value()?;
    let expected = "expected the path of the fstore crate, e.g. `crate = \"my_fstore\"` for a \
                    dependency renamed to `my_fstore`";
    if value.peek(LitStr) {
        let lit: LitStr = value.parse()?;
        lit.parse_with(Path::parse_mod_style)
            .map_err(|_| syn::Error::new(lit.span(), expected))
    } else {
        Path::parse_mod_style(value).map_err(|e| syn::Error::new(e.span(), expected))
    }
}

/// Reads every `#[fstore(...)]` of a field; the keys accepted depend on the derive.
pub fn field_attrs(cx: &mut Ctxt, attrs: &[Attribute], derive: Derive) -> FieldAttrs {
    const A: &str = "fstore";
    for attr in attrs.iter().filter(|a| a.path().is_ident("feature")) {
        cx.error_spanned_by(
            attr.path(),
            "`#[feature(...)]` is Rust's built-in attribute, not fstore's; \
             write field options as `#[fstore(...)]`, e.g. `#[fstore(default = false)]`",
        );
    }
    let vector = derive == Derive::Vector;
    let mut out = FieldAttrs::default();
    let parsed = each_key(cx, attrs, A, |cx, meta| match key(meta).as_deref() {
        Some("rename") => rename(cx, meta, vector, &mut out.rename),
        Some("name") if vector => rename(cx, meta, vector, &mut out.rename),
        Some("default") => set(cx, meta, A, &mut out.default),
        Some("view") if vector => set(cx, meta, A, &mut out.view),
        Some("aggregation") if vector => set(cx, meta, A, &mut out.aggregation),
        Some("skip") if vector => {
            set_once(cx, meta, A, &mut out.skip, key_ident(meta));
            Ok(())
        }
        Some("vocab") => {
            let v = vocab(cx, meta)?;
            set_once(cx, meta, A, &mut out.vocab, v);
            Ok(())
        }
        Some("encode") if vector => set_keyed(cx, meta, A, &mut out.encode),
        Some("len") => set_keyed(cx, meta, A, &mut out.len),
        Some("encoding") => set_keyed(cx, meta, A, &mut out.encoding),
        _ => {
            out.incomplete = true;
            let valid = if vector {
                VECTOR_FIELD_KEYS
            } else {
                FIELD_KEYS
            };
            unknown_key(cx, meta, A, valid)
        }
    });
    out.incomplete |= !parsed;
    out
}

/// Runs `read_key` on each key of every `#[name(...)]` in `attrs`; an attribute that does not
/// parse is an error. `false` when one did not.
fn each_key(
    cx: &mut Ctxt,
    attrs: &[Attribute],
    name: &str,
    mut read_key: impl FnMut(&mut Ctxt, &ParseNestedMeta) -> syn::Result<()>,
) -> bool {
    let mut parsed = true;
    for attr in attrs.iter().filter(|a| a.path().is_ident(name)) {
        if let Err(e) = attr.parse_nested_meta(|meta| read_key(cx, &meta)) {
            parsed = false;
            cx.push(e);
        }
    }
    parsed
}

/// The key of `meta` when it is a single identifier, as written (`r#name` stays `r#name`).
fn key(meta: &ParseNestedMeta) -> Option<String> {
    meta.path.get_ident().map(ToString::to_string)
}

/// The key of `meta`, a single identifier once matched with [`key`].
fn key_ident(meta: &ParseNestedMeta) -> Ident {
    meta.path.segments[0].ident.clone()
}

/// Parses the value of `key = value` into `slot`, once.
fn set<T: Parse>(
    cx: &mut Ctxt,
    meta: &ParseNestedMeta,
    attr: &str,
    slot: &mut Option<T>,
) -> syn::Result<()> {
    let value = meta.value()?.parse()?;
    set_once(cx, meta, attr, slot, value);
    Ok(())
}

/// Parses the value of `key = value` into `slot` with its key, once.
fn set_keyed<T: Parse>(
    cx: &mut Ctxt,
    meta: &ParseNestedMeta,
    attr: &str,
    slot: &mut Option<Keyed<T>>,
) -> syn::Result<()> {
    let value = meta.value()?.parse()?;
    let keyed = Keyed {
        key: key_ident(meta),
        value,
    };
    set_once(cx, meta, attr, slot, keyed);
    Ok(())
}

/// `rename = "..."`, or on a vector field its synonym `name = "..."`: given once in all.
fn rename(
    cx: &mut Ctxt,
    meta: &ParseNestedMeta,
    vector: bool,
    slot: &mut Option<LitStr>,
) -> syn::Result<()> {
    let value: LitStr = meta.value()?.parse()?;
    if slot.is_some() && vector {
        cx.error_spanned_by(
            &meta.path,
            "the stored name is given twice; give one `name` (`rename` is a synonym)",
        );
    } else {
        set_once(cx, meta, "fstore", slot, value);
    }
    Ok(())
}

/// Stores `value` in `slot`, or records a duplicate-key error on `meta`'s path.
fn set_once<T>(cx: &mut Ctxt, meta: &ParseNestedMeta, attr: &str, slot: &mut Option<T>, value: T) {
    if slot.is_some() {
        let key = key(meta).unwrap_or_default();
        cx.error_spanned_by(
            &meta.path,
            format!("duplicate `{key}` in `#[{attr}]`; give it once"),
        );
    } else {
        *slot = Some(value);
    }
}

/// Records an unknown key and skips its value, so that the keys after it are still read.
fn unknown_key(cx: &mut Ctxt, meta: &ParseNestedMeta, attr: &str, valid: &str) -> syn::Result<()> {
    let key = key(meta).unwrap_or_else(|| "?".to_owned());
    cx.error_spanned_by(
        &meta.path,
        format!("unknown `#[{attr}]` attribute `{key}`; expected {valid}"),
    );
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _content;
        syn::parenthesized!(_content in meta.input);
    }
    Ok(())
}

/// `max_age(view_a = "10m", view_b = 600)`.
fn max_age(cx: &mut Ctxt, meta: &ParseNestedMeta) -> syn::Result<Vec<(Ident, Lit)>> {
    let mut out: Vec<(Ident, Lit)> = Vec::new();
    if !meta.input.peek(syn::token::Paren) {
        cx.error_spanned_by(
            &meta.path,
            "`max_age` takes one duration per view: \
             `max_age(user_risk_profile = \"10m\", user_activity = 600)`",
        );
        if meta.input.peek(Token![=]) {
            meta.value()?.parse::<Expr>()?;
        }
        return Ok(out);
    }
    meta.parse_nested_meta(|inner| {
        let lit: Lit = inner.value()?.parse()?;
        let Some(view) = inner.path.get_ident() else {
            cx.error_spanned_by(
                &inner.path,
                "expected a view name: `max_age(user_risk_profile = \"10m\")`",
            );
            return Ok(());
        };
        if out.iter().any(|(seen, _)| seen.unraw() == view.unraw()) {
            cx.error_spanned_by(
                view,
                format!(
                    "duplicate view `{}` in `max_age`; give it once",
                    view.unraw()
                ),
            );
        } else {
            out.push((view.clone(), lit));
        }
        Ok(())
    })?;
    Ok(out)
}

/// `key(user, item)`: distinct entity names.
fn entity_keys(cx: &mut Ctxt, meta: &ParseNestedMeta) -> syn::Result<Vec<Ident>> {
    const HELP: &str = "`key` lists the entities that key the vector's views, in the order of \
                        the key's fields: `key(user, item)`";
    let mut out: Vec<Ident> = Vec::new();
    if !meta.input.peek(syn::token::Paren) {
        cx.error_spanned_by(&meta.path, HELP);
        if meta.input.peek(Token![=]) {
            meta.value()?.parse::<Expr>()?;
        }
        return Ok(out);
    }
    meta.parse_nested_meta(|inner| {
        let Some(entity) = inner.path.get_ident() else {
            cx.error_spanned_by(&inner.path, HELP);
            return Ok(());
        };
        if out.iter().any(|seen| seen.unraw() == entity.unraw()) {
            cx.error_spanned_by(
                entity,
                format!(
                    "duplicate entity `{}` in `key`; give it once",
                    entity.unraw()
                ),
            );
        } else {
            out.push(entity.clone());
        }
        Ok(())
    })?;
    if out.is_empty() {
        cx.error_spanned_by(&meta.path, HELP);
    }
    Ok(out)
}

/// `vocab = ["a", "b"]`: an array of distinct, non-empty string literals.
fn vocab(cx: &mut Ctxt, meta: &ParseNestedMeta) -> syn::Result<Vocab> {
    let array: syn::ExprArray = meta.value()?.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "`vocab` must be an array of string literals: `vocab = [\"basic\", \"premium\"]`",
        )
    })?;
    if array.elems.is_empty() {
        cx.error_spanned_by(
            &array,
            "the `vocab` is empty; list the values, e.g. `vocab = [\"basic\", \"premium\"]`",
        );
    }
    let mut entries: Vec<LitStr> = Vec::with_capacity(array.elems.len());
    for elem in array.elems {
        let lit = match elem {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => s,
            other => {
                cx.error_spanned_by(&other, "`vocab` entries must be string literals");
                continue;
            }
        };
        if lit.value().is_empty() {
            cx.error_spanned_by(&lit, "`vocab` entries cannot be empty");
        } else if entries.iter().any(|e| e.value() == lit.value()) {
            cx.error_spanned_by(
                &lit,
                format!(
                    "`{}` is in the `vocab` twice; give each entry once",
                    lit.value()
                ),
            );
        } else {
            entries.push(lit);
        }
    }
    Ok(Vocab {
        key: key_ident(meta),
        entries,
    })
}
