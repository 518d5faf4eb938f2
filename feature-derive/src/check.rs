//! Validation: everything the derive can know to be wrong is a compile error on the right token.

use std::collections::HashMap;

use syn::{Expr, ExprLit, ExprUnary, Lit, UnOp};

use fstore_registry::{
    parse_seconds, suggestion, DefaultValue, Feature, FeatureType, Registry, View as RegistryView,
};

use crate::ast::{Field, Scalar, View, SUPPORTED};
use crate::ctxt::Ctxt;
use crate::registry::{self, Loaded};

/// A view that passed every check: what the expansion needs.
pub struct Checked {
    pub view: String,
    pub namespace: String,
    pub version: u32,
    pub ttl_seconds: u64,
    /// The stored feature name of each field, in field order.
    pub features: Vec<String>,
    /// The registry's default of each field, where the field has none of its own.
    pub registry_defaults: Vec<Option<DefaultValue>>,
    /// The registry file's absolute path, when the view comes from one.
    pub registry_path: Option<String>,
}

/// Checks `view`; errors go to `cx`. `None` when something is wrong.
pub fn check(cx: &mut Ctxt, view: &View<'_>) -> Option<Checked> {
    match &view.attrs.registry {
        Some(lit) => check_against_registry(cx, view, lit),
        None => check_standalone(cx, view),
    }
}

/// A view whose settings all come from its attributes.
fn check_standalone(cx: &mut Ctxt, view: &View<'_>) -> Option<Checked> {
    let name = key_part_attr(cx, view.attrs.name.as_ref(), "view name")
        .unwrap_or_else(|| snake_case(&view.ident.to_string()));
    let namespace = key_part_attr(cx, view.attrs.namespace.as_ref(), "namespace")
        .unwrap_or_else(|| "fs".to_owned());
    let version = version_attr(cx, view.attrs.version.as_ref());
    let ttl_seconds = match &view.attrs.ttl {
        Some(lit) => duration_seconds(cx, lit, "ttl"),
        // The error already reported on `#[feature_view]` (`tll = "1h"`) is the one to fix.
        None if view.attrs.incomplete => None,
        None => {
            cx.error_spanned_by(
                view.ident,
                "missing `ttl`: every write sets an expiry on the key; \
                 add `#[feature_view(ttl = \"1h\")]` (\"30s\", \"15m\", \"1h\", \"7d\" or seconds)",
            );
            None
        }
    };
    if view.fields.is_empty() {
        cx.error_spanned_by(
            view.ident,
            "a feature view needs at least one feature field",
        );
    }
    let features = check_fields(cx, view);
    Some(Checked {
        view: name,
        namespace,
        version,
        ttl_seconds: ttl_seconds?,
        registry_defaults: vec![None; features.len()],
        features,
        registry_path: None,
    })
}

/// A view named in a registry: the registry fixes TTL, version and namespace, and every field
/// must be one of the view's features, of a matching type.
fn check_against_registry(cx: &mut Ctxt, view: &View<'_>, lit: &syn::LitStr) -> Option<Checked> {
    for (given, key) in [
        (
            view.attrs
                .ttl
                .as_ref()
                .map(quote::ToTokens::to_token_stream),
            "ttl",
        ),
        (
            view.attrs
                .version
                .as_ref()
                .map(quote::ToTokens::to_token_stream),
            "version",
        ),
        (
            view.attrs
                .namespace
                .as_ref()
                .map(quote::ToTokens::to_token_stream),
            "namespace",
        ),
    ] {
        if let Some(tokens) = given {
            given_with_registry(cx, lit, key, tokens);
        }
    }
    let features = check_fields(cx, view);
    let Loaded {
        registry,
        name: file,
        absolute,
    } = registry::load(cx, lit)?;
    let view_name = view
        .attrs
        .name
        .as_ref()
        .map_or_else(|| snake_case(&view.ident.to_string()), syn::LitStr::value);
    let Some(rview) = registry.view(&view_name) else {
        let message = unknown_view(&registry, &view_name, &file);
        match &view.attrs.name {
            Some(name) => cx.error_spanned_by(name, message),
            None => cx.error_spanned_by(
                view.ident,
                format!("{message} (without `name`, the view is the struct's name in snake_case)"),
            ),
        }
        return None;
    };
    let mut registry_defaults = Vec::with_capacity(view.fields.len());
    for (field, feature) in view.fields.iter().zip(&features) {
        let (_, span) = field.feature_name();
        let Some(rfeature) = rview.feature(feature) else {
            cx.push(syn::Error::new(span, unknown_feature(rview, feature)));
            registry_defaults.push(None);
            continue;
        };
        check_type(cx, field, rfeature, &file);
        registry_defaults.push(registry_default(field, rfeature));
    }
    Some(Checked {
        view: view_name,
        namespace: registry.namespace.clone(),
        version: registry.version,
        ttl_seconds: rview.ttl_seconds,
        features,
        registry_defaults,
        registry_path: Some(absolute),
    })
}

/// The error for a `#[fstore(...)]`/struct setting that the registry `lit` already fixes.
pub fn given_with_registry(
    cx: &mut Ctxt,
    lit: &syn::LitStr,
    key: &str,
    tokens: impl quote::ToTokens,
) {
    cx.error_spanned_by(
        tokens,
        format!(
            "`{key}` comes from the registry `{}`; remove it here (change it in the \
             registry instead)",
            lit.value()
        ),
    );
}

/// "no view `x` in `file`; did you mean `y`?"
pub fn unknown_view(registry: &Registry, name: &str, file: &str) -> String {
    let help = suggestion(name, registry.views.iter().map(|v| v.name.as_str()));
    format!("no view `{name}` in `{file}`; {help}")
}

/// "no feature `x` in view `v`; did you mean `y`?"
pub fn unknown_feature(view: &RegistryView, feature: &str) -> String {
    let help = suggestion(feature, view.feature_names());
    format!("no feature `{feature}` in view `{}`; {help}", view.name)
}

/// Checks that `field` can hold `rfeature` (an error on the field's type if not); `false` on a
/// mismatch. A field of an unsupported type passes: it has its own error.
pub fn check_type(cx: &mut Ctxt, field: &Field<'_>, rfeature: &Feature, file: &str) -> bool {
    let Some(kind) = field.kind else {
        return true;
    };
    if type_matches(rfeature.ty, kind.scalar) {
        return true;
    }
    let types = rfeature.ty.rust_types();
    let expected = if types.len() == 1 {
        format!("{} or an Option of it", types[0])
    } else {
        format!("{} or an Option of one", types.join(", "))
    };
    cx.error_spanned_by(
        field.ty,
        format!(
            "`{}` is `{}` in {file}:{} — expected {expected}",
            rfeature.name,
            rfeature.ty.name(),
            rfeature.location.line
        ),
    );
    false
}

/// The registry's default of `rfeature`, where `field` has none of its own and is not an `Option`.
pub fn registry_default(field: &Field<'_>, rfeature: &Feature) -> Option<DefaultValue> {
    let own_default = field.attrs.default.is_some();
    let optional = field.kind.is_some_and(|k| k.optional);
    rfeature
        .default
        .clone()
        .filter(|_| !own_default && !optional)
}

/// Whether a field of type `scalar` can hold a registry feature of type `ty`.
fn type_matches(ty: FeatureType, scalar: Scalar) -> bool {
    match ty {
        FeatureType::Int => scalar.is_int(),
        FeatureType::Float => scalar.is_float(),
        FeatureType::String => scalar == Scalar::String,
        FeatureType::Bool => scalar == Scalar::Bool,
        FeatureType::FloatList => scalar == Scalar::FloatList,
    }
}

/// Checks every field on its own (names, types, defaults); returns the stored feature names.
fn check_fields(cx: &mut Ctxt, view: &View<'_>) -> Vec<String> {
    let mut seen: HashMap<String, &syn::Ident> = HashMap::new();
    let mut features = Vec::with_capacity(view.fields.len());
    for field in &view.fields {
        let (feature, span) = field.feature_name();
        check_feature_name(cx, &feature, span);
        if let Some(first) = seen.insert(feature.clone(), field.ident) {
            cx.push(syn::Error::new(
                span,
                format!(
                    "feature `{feature}` is already stored by field `{first}`; rename one of them"
                ),
            ));
        }
        check_field(cx, field);
        features.push(feature);
    }
    features
}

/// Checks a stored feature name; the error goes on `span`.
pub fn check_feature_name(cx: &mut Ctxt, feature: &str, span: proc_macro2::Span) {
    if let Err(why) = feature_name(feature) {
        cx.push(syn::Error::new(
            span,
            format!("invalid feature name {feature:?}: {why}"),
        ));
    }
}

/// `version = N`, checked (1 when absent or wrong).
pub fn version_attr(cx: &mut Ctxt, lit: Option<&syn::LitInt>) -> u32 {
    match lit {
        Some(lit) => match lit.base10_parse::<u32>() {
            Ok(v) if v >= 1 => v,
            _ => {
                cx.error_spanned_by(lit, "`version` must be a whole number from 1 to 4294967295");
                1
            }
        },
        None => 1,
    }
}

/// The value of a name attribute that becomes part of every key, checked.
pub fn key_part_attr(cx: &mut Ctxt, lit: Option<&syn::LitStr>, what: &str) -> Option<String> {
    let value = lit?.value();
    if let Err(why) = key_part(&value) {
        cx.error_spanned_by(lit, format!("invalid {what} {value:?}: {why}"));
    }
    Some(value)
}

/// A duration setting (`ttl`, `max_age`) in seconds: a duration string or an integer number of
/// seconds; errors on `lit`.
pub fn duration_seconds(cx: &mut Ctxt, lit: &Lit, key: &str) -> Option<u64> {
    let parsed = match lit {
        Lit::Str(s) => parse_seconds(&s.value()),
        Lit::Int(i) => match i.base10_parse::<u64>() {
            Ok(0) | Err(_) => Err(format!(
                "`{key}` in seconds must be a whole number of at least 1"
            )),
            Ok(n) => Ok(n),
        },
        _ => Err(format!(
            "`{key}` must be a duration string such as \"1h\" or an integer number of seconds"
        )),
    };
    parsed.map_err(|why| cx.error_spanned_by(lit, why)).ok()
}

/// Checks one field on its own: a supported type, and a `default` that fits it.
pub fn check_field(cx: &mut Ctxt, field: &Field<'_>) {
    let Some(kind) = field.kind else {
        let ty = field.ty;
        let shown = type_text(ty);
        cx.error_spanned_by(
            field.ty,
            format!("unsupported feature type `{shown}`: expected {SUPPORTED}"),
        );
        return;
    };
    let Some(default) = &field.attrs.default else {
        return;
    };
    let name = field.ident;
    if kind.optional {
        cx.error_spanned_by(
            default,
            format!(
                "`default` on `{name}`, an `Option` field, never applies (an absent value reads \
                 as `None`); remove `default` or the `Option`"
            ),
        );
        return;
    }
    let ok = match (kind.scalar, literal(default)) {
        (Scalar::Bool, Some((Lit::Bool(_), false))) => true,
        (Scalar::String, Some((Lit::Str(_), false))) => true,
        (Scalar::U32 | Scalar::U64, Some((Lit::Int(_), negative))) => !negative,
        (s, Some((Lit::Int(_), _))) if s.is_int() || s.is_float() => true,
        (s, Some((Lit::Float(_), _))) if s.is_float() => true,
        (s, None) if s.is_float() => is_float_constant(default),
        _ => false,
    };
    if !ok {
        let want = match kind.scalar {
            Scalar::Bool => "`true` or `false`",
            Scalar::String => "a string literal",
            Scalar::FloatList => {
                cx.error_spanned_by(
                    default,
                    format!("`default` is not supported on `{name}`, a `Vec<f32>` embedding; use `Option<Vec<f32>>`"),
                );
                return;
            }
            Scalar::U32 | Scalar::U64 => "a non-negative integer literal",
            s if s.is_int() => "an integer literal",
            _ => "a number literal",
        };
        cx.error_spanned_by(
            default,
            format!("`default` for `{name}` must be {want}, matching the field's type"),
        );
    }
}

/// `f64::NAN`, `f64::INFINITY`, `-f32::INFINITY`, `f64::NEG_INFINITY` and the like: the float
/// defaults no literal can write.
fn is_float_constant(expr: &Expr) -> bool {
    match expr {
        Expr::Path(p) => {
            let names: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            matches!(
                names.iter().map(String::as_str).collect::<Vec<_>>()[..],
                [.., "f64" | "f32", "NAN" | "INFINITY" | "NEG_INFINITY"]
            )
        }
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => is_float_constant(expr),
        Expr::Group(g) => is_float_constant(&g.expr),
        Expr::Paren(p) => is_float_constant(&p.expr),
        _ => false,
    }
}

/// The literal of `expr` (and whether it is negated), if it is one.
fn literal(expr: &Expr) -> Option<(&Lit, bool)> {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => Some((lit, false)),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            Expr::Lit(ExprLit { lit, .. }) => Some((lit, true)),
            _ => None,
        },
        Expr::Group(g) => literal(&g.expr),
        Expr::Paren(p) => literal(&p.expr),
        _ => None,
    }
}

/// `ty` as written, without the spaces `TokenStream::to_string` puts around punctuation.
pub fn type_text(ty: &syn::Type) -> String {
    let raw = quote::quote!(#ty).to_string();
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        let prev = out.chars().last();
        let next = chars.peek().copied();
        let glue = |p: Option<char>| matches!(p, Some('<' | '>' | ':' | '&' | '(' | '[' | ','));
        if c == ' ' && (glue(next) || matches!(prev, Some('<' | ':' | '&' | '(' | '['))) {
            // `, ` stays; every other space next to punctuation goes.
            if next == Some(',') || prev != Some(',') {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// A view name or namespace: one `:`-free part of the key.
pub fn key_part(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("it is empty");
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err("use only ASCII letters, digits, `_`, `-` and `.` (it is part of every key)");
    }
    Ok(())
}

/// A stored feature name (hash field).
fn feature_name(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("it is empty");
    }
    if value.starts_with('_') {
        return Err(
            "names starting with `_` are reserved for metadata such as `_updated_at`; \
                    store it under another name with `#[fstore(rename = \"...\")]`",
        );
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("feature names cannot contain whitespace or control characters");
    }
    Ok(())
}

/// `UserProfile` → `user_profile`.
fn snake_case(ident: &str) -> String {
    let ident = ident.strip_prefix("r#").unwrap_or(ident);
    let mut out = String::with_capacity(ident.len() + 4);
    let chars: Vec<char> = ident.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_uppercase())) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{feature_name, key_part, snake_case, type_text};

    #[test]
    fn types_are_shown_as_written() {
        let show = |s: &str| type_text(&syn::parse_str(s).unwrap());
        assert_eq!(show("HashMap<String, i64>"), "HashMap<String, i64>");
        assert_eq!(show("&'static str"), "&'static str");
        assert_eq!(show("Option<Vec<i64>>"), "Option<Vec<i64>>");
        assert_eq!(
            show("std::collections::HashSet<u8>"),
            "std::collections::HashSet<u8>"
        );
    }

    #[test]
    fn snake_case_of_struct_names() {
        assert_eq!(snake_case("UserProfile"), "user_profile");
        assert_eq!(snake_case("HTTPStats"), "http_stats");
        assert_eq!(snake_case("Item2Vec"), "item2_vec");
        assert_eq!(snake_case("user"), "user");
    }

    #[test]
    fn names_that_break_keys_are_rejected() {
        assert!(key_part("user_profile").is_ok());
        assert!(key_part("user:profile").is_err());
        assert!(key_part("").is_err());
        assert!(feature_name("_updated_at").is_err());
        assert!(feature_name("a b").is_err());
        assert!(feature_name("days_since_signup").is_ok());
    }
}
