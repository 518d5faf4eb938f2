//! Attribute parsing: `#[feature_view(...)]` or `#[feature_vector(...)]` on the struct,
//! `#[fstore(...)]` on fields (`#[feature]` is a built-in attribute, so it cannot be a derive
//! helper).

use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, Ident, Lit, LitInt, LitStr, Token};

use crate::ast::Derive;
use crate::ctxt::Ctxt;

/// The keys `#[feature_view]` accepts.
const VIEW_KEYS: &str = "`name`, `ttl`, `version`, `namespace` or `registry`";
/// The keys `#[feature_vector]` accepts.
const VECTOR_KEYS: &str = "`registry`, `max_age`, `namespace` or `version`";
/// The keys `#[fstore]` accepts on a `FeatureView` field.
const FIELD_KEYS: &str = "`default` or `rename`";
/// The keys `#[fstore]` accepts on a `FeatureVector` field.
const VECTOR_FIELD_KEYS: &str =
    "`view`, `name` (or `rename`), `default`, `skip`, `vocab`, `encode` or `len`";

/// `#[feature_view(name = "...", ttl = "1h", version = 1, namespace = "fs")]`, or
/// `#[feature_view(registry = "features.toml", name = "...")]`.
#[derive(Default)]
pub struct ViewAttrs {
    pub name: Option<LitStr>,
    pub registry: Option<LitStr>,
    pub ttl: Option<Lit>,
    pub version: Option<LitInt>,
    pub namespace: Option<LitStr>,
    /// A key was unknown or did not parse: a missing key may be that one, misspelt.
    pub incomplete: bool,
}

/// `#[feature_vector(registry = "features.toml", max_age(view = "10m"), namespace = "fs",
/// version = 1)]`.
#[derive(Default)]
pub struct VectorAttrs {
    pub registry: Option<LitStr>,
    pub namespace: Option<LitStr>,
    pub version: Option<LitInt>,
    /// `max_age(view = "10m", other = 600)`: each view's key (for spans) and duration.
    pub max_age: Option<Vec<(Ident, Lit)>>,
}

/// `#[fstore(default = ..., rename = "...")]` on a `FeatureView` field; a `FeatureVector` field
/// adds `view`, `name` (a synonym of `rename`), `skip`, `vocab`, `encode` and `len`.
#[derive(Default)]
pub struct FieldAttrs {
    pub rename: Option<LitStr>,
    pub default: Option<Expr>,
    pub view: Option<LitStr>,
    /// The `skip` key, for spans.
    pub skip: Option<Ident>,
    pub vocab: Option<Vocab>,
    pub encode: Option<Keyed<LitStr>>,
    pub len: Option<Keyed<LitInt>>,
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
    pub fn values(&self) -> Vec<String> {
        self.entries.iter().map(LitStr::value).collect()
    }
}

/// Stores `value` in `slot`, or records a duplicate-key error on `meta`'s path.
fn set_once<T>(cx: &mut Ctxt, meta: &ParseNestedMeta, attr: &str, slot: &mut Option<T>, value: T) {
    if slot.is_some() {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
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
    let key = meta
        .path
        .get_ident()
        .map_or_else(|| "?".to_owned(), ToString::to_string);
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

/// Reads every `#[feature_view(...)]` of the struct.
pub fn view_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> ViewAttrs {
    let mut out = ViewAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("feature_view")) {
        let result = attr.parse_nested_meta(|meta| {
            const A: &str = "feature_view";
            if meta.path.is_ident("name") {
                let v: LitStr = meta.value()?.parse()?;
                set_once(cx, &meta, A, &mut out.name, v);
            } else if meta.path.is_ident("registry") {
                let v: LitStr = meta.value()?.parse()?;
                set_once(cx, &meta, A, &mut out.registry, v);
            } else if meta.path.is_ident("ttl") {
                let v: Lit = meta.value()?.parse()?;
                set_once(cx, &meta, A, &mut out.ttl, v);
            } else if meta.path.is_ident("version") {
                let v: LitInt = meta.value()?.parse()?;
                set_once(cx, &meta, A, &mut out.version, v);
            } else if meta.path.is_ident("namespace") {
                let v: LitStr = meta.value()?.parse()?;
                set_once(cx, &meta, A, &mut out.namespace, v);
            } else {
                out.incomplete = true;
                unknown_key(cx, &meta, A, VIEW_KEYS)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            out.incomplete = true;
            cx.push(e);
        }
    }
    out
}

/// Reads every `#[feature_vector(...)]` of the struct.
pub fn vector_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> VectorAttrs {
    let mut out = VectorAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("feature_vector")) {
        let result = attr.parse_nested_meta(|meta| {
            const A: &str = "feature_vector";
            if meta.path.is_ident("registry") {
                let v: LitStr = meta.value()?.parse()?;
                set_once(cx, &meta, A, &mut out.registry, v);
            } else if meta.path.is_ident("namespace") {
                let v: LitStr = meta.value()?.parse()?;
                set_once(cx, &meta, A, &mut out.namespace, v);
            } else if meta.path.is_ident("version") {
                let v: LitInt = meta.value()?.parse()?;
                set_once(cx, &meta, A, &mut out.version, v);
            } else if meta.path.is_ident("max_age") {
                let v = max_age(cx, &meta)?;
                set_once(cx, &meta, A, &mut out.max_age, v);
            } else {
                unknown_key(cx, &meta, A, VECTOR_KEYS)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            cx.push(e);
        }
    }
    out
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

/// Reads every `#[fstore(...)]` of a field; the keys accepted depend on the derive.
pub fn field_attrs(cx: &mut Ctxt, attrs: &[Attribute], derive: Derive) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("feature")) {
        cx.error_spanned_by(
            attr.path(),
            "`#[feature(...)]` is Rust's built-in attribute, not fstore's; \
             write field options as `#[fstore(...)]`, e.g. `#[fstore(default = false)]`",
        );
    }
    let vector = derive == Derive::Vector;
    for attr in attrs.iter().filter(|a| a.path().is_ident("fstore")) {
        let result = attr.parse_nested_meta(|meta| {
            const A: &str = "fstore";
            if meta.path.is_ident("rename") || (vector && meta.path.is_ident("name")) {
                let v: LitStr = meta.value()?.parse()?;
                if out.rename.is_some() && vector {
                    cx.error_spanned_by(
                        &meta.path,
                        "the stored name is given twice; give one `name` (`rename` is a synonym)",
                    );
                } else {
                    set_once(cx, &meta, A, &mut out.rename, v);
                }
            } else if meta.path.is_ident("default") {
                let v: Expr = meta.value()?.parse()?;
                set_once(cx, &meta, A, &mut out.default, v);
            } else if vector && meta.path.is_ident("view") {
                let v: LitStr = meta.value()?.parse()?;
                set_once(cx, &meta, A, &mut out.view, v);
            } else if vector && meta.path.is_ident("skip") {
                let v = key_ident(&meta);
                set_once(cx, &meta, A, &mut out.skip, v);
            } else if vector && meta.path.is_ident("vocab") {
                let v = vocab(cx, &meta)?;
                set_once(cx, &meta, A, &mut out.vocab, v);
            } else if vector && meta.path.is_ident("encode") {
                let value: LitStr = meta.value()?.parse()?;
                let v = Keyed {
                    key: key_ident(&meta),
                    value,
                };
                set_once(cx, &meta, A, &mut out.encode, v);
            } else if vector && meta.path.is_ident("len") {
                let value: LitInt = meta.value()?.parse()?;
                let v = Keyed {
                    key: key_ident(&meta),
                    value,
                };
                set_once(cx, &meta, A, &mut out.len, v);
            } else {
                out.incomplete = true;
                let valid = if vector {
                    VECTOR_FIELD_KEYS
                } else {
                    FIELD_KEYS
                };
                unknown_key(cx, &meta, A, valid)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            out.incomplete = true;
            cx.push(e);
        }
    }
    out
}

/// The key of `meta`, a single identifier once matched with `is_ident`.
fn key_ident(meta: &ParseNestedMeta) -> Ident {
    meta.path.segments[0].ident.clone()
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
