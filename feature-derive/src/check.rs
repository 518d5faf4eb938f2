//! The rules both derives check, one function per rule. `check_view` and `check_vector` apply
//! them in their order; each records its error on the token that is wrong and returns what it
//! found, so that one build shows every bad field.

use std::fmt::Display;

use proc_macro2::Span;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitInt, LitStr, UnOp};

use fstore_registry::{
    parse_seconds, seconds_in_range, suggestion, DefaultValue, Feature, FeatureType, ListEncoding,
    View as RegistryView, MAX_DURATION_SECONDS,
};

use crate::ast::{Field, Kind, Scalar, SUPPORTED};
use crate::attr::{Keyed, StoreAttrs};
use crate::ctxt::Ctxt;
use crate::registry::Loaded;

/// The checks of a field on its own, the same in both derives: a supported type, a `default`
/// that fits it, and list settings (`len`, `encoding`) only on a list, each valid.
pub fn field(cx: &mut Ctxt, field: &Field<'_>) {
    if let Some(kind) = supported_type(cx, field) {
        default_fits_type(cx, field, kind);
        list_keys(cx, field, kind);
    }
}

/// `len` and `encoding` are only for `Vec<f32>` fields (the error goes on the key); `len` is a
/// whole number of at least 1 and `encoding` one of [`ListEncoding::ALL`] (the error goes on the
/// value).
fn list_keys(cx: &mut Ctxt, field: &Field<'_>, kind: Kind) {
    let attrs = &field.attrs;
    if kind.scalar != Scalar::FloatList {
        let keys = [
            attrs.len.as_ref().map(|l| &l.key),
            attrs.encoding.as_ref().map(|e| &e.key),
        ];
        for key in keys.into_iter().flatten() {
            let (name, ty) = (field.ident.unraw(), type_text(field.ty));
            cx.error_spanned_by(
                key,
                format!("`{key}` is only for `Vec<f32>` fields, and `{name}` is `{ty}`; remove it"),
            );
        }
        return;
    }
    if let Some(len) = &attrs.len {
        if own_len(len).is_none() {
            cx.error_spanned_by(&len.value, "`len` must be a whole number of at least 1");
        }
    }
    if let Some(encoding) = &attrs.encoding {
        let text = encoding.value.value();
        if ListEncoding::from_name(&text).is_none() {
            let help = suggestion(&text, ListEncoding::names());
            cx.error_spanned_by(
                &encoding.value,
                format!(
                    "unknown `encoding` `{text}`; {help} (`json`: text, the default; `f32le`: \
                     little-endian f32 bytes)"
                ),
            );
        }
    }
}

/// A `len = N` attribute's value, when it is a whole number of at least 1.
fn own_len(len: &Keyed<LitInt>) -> Option<usize> {
    len.value.base10_parse::<usize>().ok().filter(|n| *n >= 1)
}

/// How a `Vec<f32>` field's list is declared, checked on every read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListDecl {
    /// The declared length; any when `None`.
    pub len: Option<usize>,
    pub encoding: ListEncoding,
}

impl ListDecl {
    /// The expected type as read errors name it: `Vec<f32> (float_list, len 8, json)`.
    pub fn expected(&self) -> String {
        let len = self.len.map_or_else(String::new, |n| format!(", len {n}"));
        format!("Vec<f32> (float_list{len}, {})", self.encoding.name())
    }
}

/// A registry's feature, with the file it is declared in, for messages.
#[derive(Clone, Copy)]
pub struct Declared<'r> {
    pub feature: &'r Feature,
    /// The registry file as the user named it.
    pub file: &'r str,
}

/// The list declaration of a `Vec<f32>` field that reads `feature`: its own `len` and
/// `encoding`, else the registry's (`declared`), else any length and `json`. A setting given both
/// here and in the registry must agree (the error goes on the field's key). `None` for a field
/// that is not a list, or whose settings are wrong (already an error).
pub fn list_decl(
    cx: &mut Ctxt,
    field: &Field<'_>,
    feature: &str,
    declared: Option<Declared<'_>>,
) -> Option<ListDecl> {
    if field.kind?.scalar != Scalar::FloatList {
        return None;
    }
    let attrs = &field.attrs;
    let own_len = match &attrs.len {
        Some(len) => Some(own_len(len)?),
        None => None,
    };
    let own_encoding = match &attrs.encoding {
        Some(e) => Some(ListEncoding::from_name(&e.value.value())?),
        None => None,
    };
    let agreed = Agreed {
        feature,
        declared,
        shared_by: "its writers and readers",
    };
    let len = agreed.setting(
        cx,
        "len",
        attrs.len.as_ref().map(|l| &l.key),
        own_len,
        declared.and_then(|d| d.feature.len),
        |n| n.to_string(),
    );
    let encoding = agreed.setting(
        cx,
        "encoding",
        attrs.encoding.as_ref().map(|e| &e.key),
        own_encoding,
        declared.and_then(|d| d.feature.encoding),
        |e| format!("{:?}", e.name()),
    );
    Some(ListDecl {
        len: len?,
        encoding: encoding?.unwrap_or_default(),
    })
}

/// The vocabulary of a view's field that writes `feature`: its own `vocab`, else the
/// registry's; both must agree (the error goes on the field's key). Writes note a value outside
/// it, which a store made with `refusing_out_of_vocab` refuses. `Some(None)` for a field with no
/// vocabulary; `None` when the settings are wrong (already an error): a `vocab` on a field that
/// is not a string, or one that differs from the registry's.
pub fn vocab_decl(
    cx: &mut Ctxt,
    field: &Field<'_>,
    feature: &str,
    declared: Option<Declared<'_>>,
) -> Option<Option<Vec<String>>> {
    let kind = field.kind?;
    let own = field.attrs.vocab.as_ref();
    if kind.scalar != Scalar::String {
        if let Some(vocab) = own {
            let (name, ty) = (field.ident.unraw(), type_text(field.ty));
            cx.error_spanned_by(
                &vocab.key,
                format!("`vocab` is only for `String` fields, and `{name}` is `{ty}`; remove it"),
            );
            return None;
        }
        return Some(None);
    }
    let agreed = Agreed {
        feature,
        declared,
        shared_by: "its writers and readers",
    };
    agreed.setting(
        cx,
        "vocab",
        own.map(|v| &v.key),
        own.map(crate::attr::Vocab::values),
        declared.and_then(|d| d.feature.vocab.clone()),
        |v| format!("{v:?}"),
    )
}

/// A setting both a field and the registry may give (a list's `len` and `encoding`, a vector
/// field's `vocab`), which must agree: the registry is the schema that `shared_by` share.
pub struct Agreed<'a> {
    /// The stored feature name.
    pub feature: &'a str,
    /// The registry's feature, when there is a registry.
    pub declared: Option<Declared<'a>>,
    /// Who shares the setting, for the message: `its writers and readers`.
    pub shared_by: &'a str,
}

impl Agreed<'_> {
    /// The field's value (`own`, given under `key`) when the registry has none, the registry's
    /// when the field has none; when both give one and they differ, an error on `key` (the
    /// registry's value shown by `shown`) and `None`.
    pub fn setting<T: PartialEq, S: Display>(
        &self,
        cx: &mut Ctxt,
        setting: &str,
        key: Option<&Ident>,
        own: Option<T>,
        registry: Option<T>,
        shown: impl Fn(&T) -> S,
    ) -> Option<Option<T>> {
        match agree(own, registry) {
            Err((_, registry)) => {
                let (feature, shared_by) = (self.feature, self.shared_by);
                let at = self.declared.map_or_else(String::new, |d| {
                    format!("{}:{}", d.file, d.feature.location.line)
                });
                let registry = shown(&registry);
                cx.error_spanned_by(
                    key,
                    format!(
                        "this `{setting}` differs from the registry's for `{feature}` ({at}: \
                         `{setting} = {registry}`), which {shared_by} share; remove \
                         `{setting}` here (or change it in the registry)"
                    ),
                );
                None
            }
            Ok(value) => Some(value),
        }
    }
}

/// The field's setting when the registry has none, the registry's when the field has none; when
/// both give one, they must agree (`Err` with both).
fn agree<T: PartialEq>(own: Option<T>, registry: Option<T>) -> Result<Option<T>, (T, T)> {
    match (own, registry) {
        (Some(own), Some(registry)) if own != registry => Err((own, registry)),
        (own, registry) => Ok(own.or(registry)),
    }
}

/// The field's type is one a feature can be read into; the error goes on the type.
pub fn supported_type(cx: &mut Ctxt, field: &Field<'_>) -> Option<Kind> {
    if field.kind.is_none() {
        let shown = type_text(field.ty);
        cx.error_spanned_by(
            field.ty,
            format!("unsupported feature type `{shown}`: expected {SUPPORTED}"),
        );
    }
    field.kind
}

/// A `#[fstore(default = ...)]` is a literal of the field's type (or a float constant for a float
/// field), and the field is not an `Option`, on which a default never applies.
pub fn default_fits_type(cx: &mut Ctxt, field: &Field<'_>, kind: Kind) {
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
        (s, None) if s.is_float() => float_constant(default).is_some(),
        _ => false,
    };
    if ok {
        return;
    }
    let want = match kind.scalar {
        Scalar::Bool => "`true` or `false`",
        Scalar::String => "a string literal",
        Scalar::FloatList => {
            cx.error_spanned_by(
                default,
                format!(
                    "`default` is not supported on `{name}`, a `Vec<f32>` embedding; use \
                     `Option<Vec<f32>>`"
                ),
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

/// A stored feature name (hash field) is non-empty, not reserved metadata and free of
/// whitespace; the error goes on `span`.
pub fn feature_name(cx: &mut Ctxt, feature: &str, span: Span) {
    if let Err(why) = feature_name_problem(feature) {
        cx.push(syn::Error::new(
            span,
            format!("invalid feature name {feature:?}: {why}"),
        ));
    }
}

/// A name attribute that becomes part of every key (view name, namespace) is one `:`-free part
/// of a key; returns its value, checked or not.
pub fn key_part(cx: &mut Ctxt, lit: Option<&LitStr>, what: &str) -> Option<String> {
    let value = lit?.value();
    if let Err(why) = key_part_problem(&value) {
        cx.error_spanned_by(lit, format!("invalid {what} {value:?}: {why}"));
    }
    Some(value)
}

/// The namespace and version of keys given beside no registry: a valid key part (default `fs`)
/// and a whole number from 1 (default 1).
pub fn store(cx: &mut Ctxt, store: &StoreAttrs) -> (String, u32) {
    let namespace =
        key_part(cx, store.namespace.as_ref(), "namespace").unwrap_or_else(|| "fs".to_owned());
    (namespace, version(cx, store.version.as_ref()))
}

/// `version = N` is a whole number from 1; returns it (1 when absent or wrong).
fn version(cx: &mut Ctxt, lit: Option<&LitInt>) -> u32 {
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

/// A duration setting (`ttl`, `max_age`) is a duration string or a positive integer number of
/// seconds; returns it in seconds.
pub fn duration_seconds(cx: &mut Ctxt, lit: &Lit, key: &str) -> Option<u64> {
    let parsed = match lit {
        Lit::Str(s) => parse_seconds(&s.value()),
        Lit::Int(i) => match i.base10_parse::<u64>() {
            Ok(0) => Err(format!(
                "`{key}` in seconds must be a whole number of at least 1"
            )),
            Ok(n) => seconds_in_range(n).map_err(|why| format!("`{key}`: {why}")),
            Err(_) => Err(format!(
                "`{key}` in seconds must be a whole number from 1 to {MAX_DURATION_SECONDS} (100 \
                 years)"
            )),
        },
        _ => Err(format!(
            "`{key}` must be a duration string such as \"1h\" or an integer number of seconds"
        )),
    };
    parsed.map_err(|why| cx.error_spanned_by(lit, why)).ok()
}

/// A setting the registry `registry` fixes (`ttl`, `version`, `namespace`) is not also given
/// beside it; the error goes on the setting given.
pub fn fixed_by_registry(
    cx: &mut Ctxt,
    registry: &LitStr,
    key: &str,
    given: Option<&impl ToTokens>,
) {
    if let Some(given) = given {
        cx.error_spanned_by(
            given,
            format!(
                "`{key}` comes from the registry `{}`; remove it here (change it in the \
                 registry instead)",
                registry.value()
            ),
        );
    }
}

/// The registry has a view `name`; the error, with `note` after it, goes on `at`.
pub fn registry_view<'r>(
    cx: &mut Ctxt,
    loaded: &'r Loaded,
    name: &str,
    at: impl ToTokens,
    note: &str,
) -> Option<&'r RegistryView> {
    let view = loaded.registry.view(name);
    if view.is_none() {
        let views = loaded.registry.views.iter().map(|v| v.name.as_str());
        let help = suggestion(name, views);
        let file = &loaded.name;
        cx.error_spanned_by(at, format!("no view `{name}` in `{file}`; {help}{note}"));
    }
    view
}

/// The registry's view has a feature `feature`; the error goes on `span`, the field's stored
/// name.
pub fn registry_feature<'r>(
    cx: &mut Ctxt,
    view: &'r RegistryView,
    feature: &str,
    span: Span,
) -> Option<&'r Feature> {
    let found = view.feature(feature);
    if found.is_none() {
        let help = suggestion(feature, view.feature_names());
        cx.push(syn::Error::new(
            span,
            format!("no feature `{feature}` in view `{}`; {help}", view.name),
        ));
    }
    found
}

/// The field's type can hold the registry's feature; the error goes on the type. `false` on a
/// mismatch. A field of an unsupported type passes: it has its own error.
pub fn registry_type(cx: &mut Ctxt, field: &Field<'_>, feature: &Feature, file: &str) -> bool {
    let Some(kind) = field.kind else {
        return true;
    };
    if type_matches(feature.ty, kind.scalar) {
        return true;
    }
    let types = feature.ty.rust_types();
    let expected = if types.len() == 1 {
        format!("{} or an Option of it", types[0])
    } else {
        format!("{} or an Option of one", types.join(", "))
    };
    cx.error_spanned_by(
        field.ty,
        format!(
            "`{}` is `{}` in {file}:{} — expected {expected}",
            feature.name,
            feature.ty.name(),
            feature.location.line
        ),
    );
    false
}

/// The field and the registry's feature agree on what an absent value is and on what can be
/// stored (the field's type already fits the feature's; see [`registry_type`]):
/// - the registry's `default` fits the field's type (`3000000000` does not fit an `i32`);
/// - a field's own `default` repeats the registry's, never contradicts it (one source of truth:
///   the dynamic API and other readers use the registry's);
/// - an `Option` field is for an `optional = true` feature: not for one with a `default` (absent
///   reads as the default), and, in a view (`writes`), not for a required one (writing `None`
///   would delete it, and readers would fail).
///
/// Errors go on the token to change, with the registry line to change instead.
pub fn registry_agreement(cx: &mut Ctxt, field: &Field<'_>, declared: Declared<'_>, writes: bool) {
    let Some(kind) = field.kind else {
        return;
    };
    let feature = declared.feature;
    let at = format!("{}:{}", declared.file, feature.location.line);
    let name = &feature.name;
    let ty = type_text(field.ty);
    if let (Some(own), Some(registry)) = (&field.attrs.default, &feature.default) {
        if let Some(value) = attribute_value(own) {
            if !value.same_as(registry) {
                cx.error_spanned_by(
                    own,
                    format!(
                        "this `default` differs from the registry's for `{name}` ({at}: \
                         `default = {}`), which the dynamic API and every other reader use; \
                         remove `default` here (or change it in the registry)",
                        shown(registry)
                    ),
                );
            }
        }
    }
    if kind.optional && !feature.optional {
        let inner = kind.scalar.rust_name();
        match &feature.default {
            Some(default) => cx.error_spanned_by(
                field.ty,
                format!(
                    "`{name}` has `default = {}` in {at}, so an absent value reads as that, \
                     never `None`; make the field `{inner}`",
                    shown(default)
                ),
            ),
            None if writes => cx.error_spanned_by(
                field.ty,
                format!(
                    "`{name}` is required in {at} (no `default`, not `optional`), but the field \
                     is `{ty}`: writing `None` would delete it and its readers would fail; make \
                     the field `{inner}`, or declare `optional = true` in {at}"
                ),
            ),
            None => {}
        }
    }
    if field.attrs.default.is_none() {
        if let Some(default) = &feature.default {
            if let Err(range) = default_in_range(default, kind.scalar) {
                cx.error_spanned_by(
                    field.ty,
                    format!(
                        "the registry's default for `{name}` ({at}: `default = {}`) does not fit \
                         `{ty}` ({range}); use a wider type, or change the default in {at}",
                        shown(default)
                    ),
                );
            }
        }
    }
}

/// A registry default as the registry file writes it.
fn shown(value: &DefaultValue) -> String {
    match value {
        DefaultValue::Int(i) => i.to_string(),
        DefaultValue::Float(x) => format!("{x:?}"),
        DefaultValue::String(s) => format!("{s:?}"),
        DefaultValue::Bool(b) => b.to_string(),
    }
}

/// `Ok` when the registry's `default` can be held by a field of type `scalar` exactly enough:
/// an integer in the integer type's range, a float that an `f32` neither overflows nor flushes
/// to zero. `Err` with the type's range.
fn default_in_range(default: &DefaultValue, scalar: Scalar) -> Result<(), &'static str> {
    match (default, scalar) {
        (DefaultValue::Int(i), Scalar::I32) if i32::try_from(*i).is_err() => {
            Err("-2147483648 to 2147483647")
        }
        (DefaultValue::Int(i), Scalar::U32) if u32::try_from(*i).is_err() => Err("0 to 4294967295"),
        (DefaultValue::Int(i), Scalar::U64) if *i < 0 => Err("0 to 18446744073709551615"),
        #[allow(clippy::cast_possible_truncation)]
        (DefaultValue::Float(x), Scalar::F32)
            if (x.is_finite() && (*x as f32).is_infinite()) || (*x != 0.0 && *x as f32 == 0.0) =>
        {
            Err("an `f32`: at most 3.4028235e38 in magnitude, and not so small that it reads as 0")
        }
        _ => Ok(()),
    }
}

/// The value of a `#[fstore(default = ...)]` literal, when it is one the registry could write.
enum AttrValue {
    Int(i128),
    Float(f64),
    Str(String),
    Bool(bool),
}

impl AttrValue {
    /// The same value as the registry's `default`.
    fn same_as(&self, registry: &DefaultValue) -> bool {
        #[allow(clippy::cast_precision_loss)]
        match (self, registry) {
            (AttrValue::Int(a), DefaultValue::Int(b)) => *a == i128::from(*b),
            (AttrValue::Int(a), DefaultValue::Float(b)) => (*a as f64) == *b,
            (AttrValue::Float(a), DefaultValue::Float(b)) => {
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
            }
            (AttrValue::Float(a), DefaultValue::Int(b)) => *a == *b as f64,
            (AttrValue::Str(a), DefaultValue::String(b)) => a == b,
            (AttrValue::Bool(a), DefaultValue::Bool(b)) => a == b,
            _ => false,
        }
    }
}

/// The value of a default expression: a literal, a negated one, or a float constant
/// (`f64::NAN`); `None` for anything else (which has its own error).
fn attribute_value(expr: &Expr) -> Option<AttrValue> {
    if let Some((lit, negative)) = literal(expr) {
        let sign = if negative { -1.0 } else { 1.0 };
        return match lit {
            Lit::Int(i) => {
                let n: i128 = i.base10_parse().ok()?;
                Some(AttrValue::Int(if negative { -n } else { n }))
            }
            Lit::Float(f) => Some(AttrValue::Float(sign * f.base10_parse::<f64>().ok()?)),
            Lit::Str(s) => Some(AttrValue::Str(s.value())),
            Lit::Bool(b) => Some(AttrValue::Bool(b.value)),
            _ => None,
        };
    }
    float_constant(expr).map(AttrValue::Float)
}

/// The value of a float constant that no literal can write: `f64::NAN`, `f32::INFINITY`,
/// `-f64::INFINITY`, `core::f64::NEG_INFINITY` and the like; `None` for anything else.
fn float_constant(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Path(p) => {
            let mut names = p.path.segments.iter().rev().map(|s| s.ident.to_string());
            let (name, ty) = (names.next()?, names.next()?);
            if ty != "f64" && ty != "f32" {
                return None;
            }
            match name.as_str() {
                "NAN" => Some(f64::NAN),
                "INFINITY" => Some(f64::INFINITY),
                "NEG_INFINITY" => Some(f64::NEG_INFINITY),
                _ => None,
            }
        }
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => float_constant(expr).map(|x| -x),
        Expr::Group(g) => float_constant(&g.expr),
        Expr::Paren(p) => float_constant(&p.expr),
        _ => None,
    }
}

/// The registry's default of `feature`, where `field` has none of its own and is not an `Option`.
pub fn registry_default(field: &Field<'_>, feature: &Feature) -> Option<DefaultValue> {
    let own_default = field.attrs.default.is_some();
    let optional = field.kind.is_some_and(|k| k.optional);
    feature
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

/// What is wrong with a view name or namespace, one `:`-free part of the key.
fn key_part_problem(value: &str) -> Result<(), &'static str> {
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

/// What is wrong with a stored feature name (hash field).
fn feature_name_problem(value: &str) -> Result<(), &'static str> {
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

#[cfg(test)]
mod tests {
    use super::{agree, feature_name_problem, key_part_problem, type_text, ListDecl};
    use fstore_registry::ListEncoding;

    #[test]
    fn field_and_registry_settings_must_agree() {
        assert_eq!(agree(Some(4), None), Ok(Some(4)));
        assert_eq!(agree(None, Some(8)), Ok(Some(8)));
        assert_eq!(agree(Some(8), Some(8)), Ok(Some(8)));
        assert_eq!(agree::<u8>(None, None), Ok(None));
        assert_eq!(agree(Some(4), Some(8)), Err((4, 8)));
    }

    #[test]
    fn list_declarations_describe_themselves_as_read_errors_show_them() {
        let decl = |len, encoding| ListDecl { len, encoding };
        assert_eq!(
            decl(Some(8), ListEncoding::Json).expected(),
            "Vec<f32> (float_list, len 8, json)"
        );
        assert_eq!(
            decl(None, ListEncoding::F32Le).expected(),
            "Vec<f32> (float_list, f32le)"
        );
    }

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
    fn names_that_break_keys_are_rejected() {
        assert!(key_part_problem("user_profile").is_ok());
        assert!(key_part_problem("user:profile").is_err());
        assert!(key_part_problem("").is_err());
        assert!(feature_name_problem("_updated_at").is_err());
        assert!(feature_name_problem("a b").is_err());
        assert!(feature_name_problem("days_since_signup").is_ok());
    }
}
