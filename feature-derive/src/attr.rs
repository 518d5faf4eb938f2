//! Attribute parsing: `#[feature_view(...)]` on the struct, `#[fstore(...)]` on fields (`#[feature]` is a built-in attribute, so it cannot be a derive helper).

use syn::meta::ParseNestedMeta;
use syn::{Attribute, Expr, Lit, LitInt, LitStr, Token};

use crate::ctxt::Ctxt;

/// The keys `#[feature_view]` accepts.
const VIEW_KEYS: &str = "`name`, `ttl`, `version`, `namespace` or `registry`";
/// The keys `#[fstore]` accepts.
const FIELD_KEYS: &str = "`default` or `rename`";

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

/// `#[fstore(default = ..., rename = "...")]`.
#[derive(Default)]
pub struct FieldAttrs {
    pub rename: Option<LitStr>,
    pub default: Option<Expr>,
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

/// Reads every `#[fstore(...)]` of a field.
pub fn field_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("feature")) {
        cx.error_spanned_by(
            attr.path(),
            "`#[feature(...)]` is Rust's built-in attribute, not fstore's; \
             write field options as `#[fstore(...)]`, e.g. `#[fstore(default = false)]`",
        );
    }
    for attr in attrs.iter().filter(|a| a.path().is_ident("fstore")) {
        let result = attr.parse_nested_meta(|meta| {
            const A: &str = "fstore";
            if meta.path.is_ident("rename") {
                let v: LitStr = meta.value()?.parse()?;
                set_once(cx, &meta, A, &mut out.rename, v);
            } else if meta.path.is_ident("default") {
                let v: Expr = meta.value()?.parse()?;
                set_once(cx, &meta, A, &mut out.default, v);
            } else {
                unknown_key(cx, &meta, A, FIELD_KEYS)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            cx.push(e);
        }
    }
    out
}
