//! Validation of `#[derive(FeatureVector)]`: the fields' views and features (against the registry
//! when there is one), and how each field becomes model input.

use std::collections::HashMap;

use syn::ext::IdentExt;

use fstore_registry::{suggestion, DefaultValue, Encode, Feature};

use crate::ast::{Field, Scalar, Vector};
use crate::check::{
    check_feature_name, check_field, check_type, duration_seconds, given_with_registry,
    key_part_attr, registry_default, type_text, unknown_feature, unknown_view, version_attr,
};
use crate::ctxt::Ctxt;
use crate::registry::{self, Loaded};

/// A vector that passed every check: what the expansion needs.
pub struct CheckedVector {
    /// The views read, each once, in order of first use.
    pub views: Vec<ViewSpec>,
    /// One per field, in field order.
    pub fields: Vec<FieldSpec>,
    /// The registry file's absolute path, when the vector is checked against one.
    pub registry_path: Option<String>,
}

/// One view a vector reads.
pub struct ViewSpec {
    pub name: String,
    /// `{namespace}:v{version}:{view}:`.
    pub key_prefix: String,
    /// The features read from it, in field order (without `_updated_at`).
    pub features: Vec<String>,
    pub max_age_ms: Option<u64>,
}

/// How one field is read and turned into model input.
pub struct FieldSpec {
    /// Index into [`CheckedVector::views`].
    pub view: usize,
    /// Index into that view's features.
    pub feature_index: usize,
    /// The stored feature name.
    pub feature: String,
    /// The registry's default, where the field has none of its own.
    pub registry_default: Option<DefaultValue>,
    /// The declared length of a `Vec<f32>` field, checked on read.
    pub len: Option<usize>,
    pub column: Column,
}

/// What a field contributes to the model input.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Nothing: `#[fstore(skip)]`.
    Skip,
    /// One column: a number, a bool (0/1), `None` as NaN.
    Number,
    /// One column per vocabulary entry.
    OneHot(Vec<String>),
    /// One column: the position in the vocabulary, -1 when unknown.
    Index(Vec<String>),
    /// `len` columns of a `Vec<f32>`.
    List(usize),
}

impl Column {
    /// The number of `f32` columns.
    pub fn width(&self) -> usize {
        match self {
            Column::Skip => 0,
            Column::Number | Column::Index(_) => 1,
            Column::OneHot(vocab) => vocab.len(),
            Column::List(len) => *len,
        }
    }

    /// The column names: `view__feature`, `view__feature=entry` per one-hot entry,
    /// `view__feature[i]` per list element. `__` separates view and feature because both may
    /// contain `_`.
    pub fn names(&self, view: &str, feature: &str) -> Vec<String> {
        let base = format!("{view}__{feature}");
        match self {
            Column::Skip => Vec::new(),
            Column::Number | Column::Index(_) => vec![base],
            Column::OneHot(vocab) => vocab.iter().map(|e| format!("{base}={e}")).collect(),
            Column::List(len) => (0..*len).map(|i| format!("{base}[{i}]")).collect(),
        }
    }
}

/// The values `encode` accepts.
const ENCODINGS: [&str; 2] = ["onehot", "index"];

/// `encode = "..."` as an [`Encode`].
fn parse_encode(text: &str) -> Option<Encode> {
    match text {
        "onehot" => Some(Encode::OneHot),
        "index" => Some(Encode::Index),
        _ => None,
    }
}

/// A setting the field and the registry may both give (`vocab`, `len`): the field's when the
/// registry has none, the registry's when the field has none; when both give one, they must
/// agree (`Err` with both), because the registry is the schema writers and trainers share.
fn agree<T: PartialEq>(own: Option<T>, registry: Option<T>) -> Result<Option<T>, (T, T)> {
    match (own, registry) {
        (Some(own), Some(registry)) if own != registry => Err((own, registry)),
        (own, registry) => Ok(own.or(registry)),
    }
}

/// Where the views and features of the vector are defined.
enum Schema<'r> {
    /// No registry: the struct is the schema.
    Standalone,
    /// Checked against a registry.
    Registry(&'r Loaded),
    /// The registry could not be read (already an error): skip what depends on it.
    Broken,
}

/// Checks `vector`; errors go to `cx`. `None` when something is wrong.
pub fn check(cx: &mut Ctxt, vector: &Vector<'_>) -> Option<CheckedVector> {
    let attrs = &vector.attrs;
    let loaded = attrs.registry.as_ref().map(|lit| {
        if let Some(namespace) = &attrs.namespace {
            given_with_registry(cx, lit, "namespace", namespace);
        }
        if let Some(version) = &attrs.version {
            given_with_registry(cx, lit, "version", version);
        }
        registry::load(cx, lit)
    });
    let schema = match &loaded {
        None => Schema::Standalone,
        Some(Some(loaded)) => Schema::Registry(loaded),
        Some(None) => Schema::Broken,
    };
    let (namespace, version) = match &schema {
        Schema::Standalone => (
            key_part_attr(cx, attrs.namespace.as_ref(), "namespace")
                .unwrap_or_else(|| "fs".to_owned()),
            version_attr(cx, attrs.version.as_ref()),
        ),
        Schema::Registry(loaded) => (loaded.registry.namespace.clone(), loaded.registry.version),
        Schema::Broken => (String::new(), 0),
    };

    if vector.fields.is_empty() {
        cx.error_spanned_by(
            vector.ident,
            "a feature vector needs at least one field, each read from a view: \
             `#[fstore(view = \"user_profile\")] age: i64`",
        );
    }
    let mut views: Vec<ViewSpec> = Vec::new();
    let mut seen: HashMap<(String, String), &syn::Ident> = HashMap::new();
    let mut fields = Vec::with_capacity(vector.fields.len());
    let mut viewless = false;
    for field in &vector.fields {
        check_field(cx, field);
        check_field_attrs(cx, field);
        let (feature, span) = field.feature_name();
        check_feature_name(cx, &feature, span);
        let Some(view_lit) = &field.attrs.view else {
            // A misspelt key (`veiw = ...`) already has its error.
            if !field.attrs.incomplete {
                cx.error_spanned_by(
                    field.ident,
                    format!(
                        "field `{}` has no view: add `#[fstore(view = \"...\")]` naming the \
                         feature view it is read from",
                        field.ident.unraw()
                    ),
                );
            }
            viewless = true;
            fields.push(None);
            continue;
        };
        let view_name = view_lit.value();
        if let Schema::Standalone = schema {
            key_part_attr(cx, Some(view_lit), "view name");
        }
        if let Some(first) = seen.insert((view_name.clone(), feature.clone()), field.ident) {
            cx.push(syn::Error::new(
                span,
                format!(
                    "feature `{feature}` of view `{view_name}` is already read by field \
                     `{}`; a vector reads each feature once, so remove one of them",
                    first.unraw()
                ),
            ));
            fields.push(None);
            continue;
        }
        let view = match views.iter().position(|v| v.name == view_name) {
            Some(i) => i,
            None => {
                views.push(ViewSpec {
                    key_prefix: fstore_registry::key_prefix(&namespace, version, &view_name),
                    name: view_name.clone(),
                    features: Vec::new(),
                    max_age_ms: None,
                });
                views.len() - 1
            }
        };
        let feature_index = views[view].features.len();
        views[view].features.push(feature.clone());

        // The registry's feature, when there is one and the field matches it.
        let rfeature = match &schema {
            Schema::Standalone => Ok(None),
            Schema::Broken => Err(()),
            Schema::Registry(loaded) => match loaded.registry.view(&view_name) {
                None => {
                    cx.error_spanned_by(
                        view_lit,
                        unknown_view(&loaded.registry, &view_name, &loaded.name),
                    );
                    Err(())
                }
                Some(rview) => match rview.feature(&feature) {
                    None => {
                        cx.push(syn::Error::new(span, unknown_feature(rview, &feature)));
                        Err(())
                    }
                    Some(rfeature) if check_type(cx, field, rfeature, &loaded.name) => {
                        Ok(Some(rfeature))
                    }
                    Some(_) => Err(()),
                },
            },
        };
        // Without the registry's feature, what it would have said about the field is unknown:
        // report nothing more about it.
        let Ok(rfeature) = rfeature else {
            fields.push(None);
            continue;
        };
        let file = match &schema {
            Schema::Registry(loaded) => Some(loaded.name.as_str()),
            _ => None,
        };
        let resolved = column(cx, field, &feature, rfeature, file);
        fields.push(resolved.map(|(column, len)| FieldSpec {
            view,
            feature_index,
            feature: feature.clone(),
            registry_default: rfeature.and_then(|r| registry_default(field, r)),
            len,
            column,
        }));
    }

    // Freshness: the attribute's, else the registry's.
    if let Schema::Registry(loaded) = &schema {
        for view in &mut views {
            if let Some(rview) = loaded.registry.view(&view.name) {
                view.max_age_ms = rview.max_age_seconds.map(|s| s.saturating_mul(1000));
            }
        }
    }
    for (key, lit) in attrs.max_age.iter().flatten() {
        let name = key.unraw().to_string();
        let seconds = duration_seconds(cx, lit, "max_age");
        match views.iter_mut().find(|v| v.name == name) {
            Some(view) => {
                if let Some(seconds) = seconds {
                    view.max_age_ms = Some(seconds.saturating_mul(1000));
                }
            }
            // Fields without a view (already errors) may be the ones that read it.
            None if viewless => {}
            None => {
                let help = suggestion(&name, views.iter().map(|v| v.name.as_str()));
                cx.error_spanned_by(
                    key,
                    format!(
                        "`max_age` names view `{name}`, which no field of `{}` reads; {help}",
                        vector.ident.unraw()
                    ),
                );
            }
        }
    }

    Some(CheckedVector {
        views,
        fields: fields.into_iter().collect::<Option<Vec<_>>>()?,
        registry_path: match &schema {
            Schema::Registry(loaded) => Some(loaded.absolute.clone()),
            _ => None,
        },
    })
}

/// The checks of a field's vector keys that need nothing but the field.
fn check_field_attrs(cx: &mut Ctxt, field: &Field<'_>) {
    let attrs = &field.attrs;
    let name = field.ident.unraw();
    if let Some(kind) = field.kind {
        let ty = type_text(field.ty);
        if kind.scalar != Scalar::String {
            if let Some(vocab) = &attrs.vocab {
                cx.error_spanned_by(
                    &vocab.key,
                    format!(
                        "`vocab` is only for `String` fields, and `{name}` is `{ty}`; remove it"
                    ),
                );
            }
            if let Some(encode) = &attrs.encode {
                cx.error_spanned_by(
                    &encode.key,
                    format!(
                        "`encode` is only for `String` fields with a `vocab`, and `{name}` is \
                         `{ty}`; remove it"
                    ),
                );
            }
        }
        if kind.scalar != Scalar::FloatList {
            if let Some(len) = &attrs.len {
                cx.error_spanned_by(
                    &len.key,
                    format!(
                        "`len` is only for `Vec<f32>` fields, and `{name}` is `{ty}`; remove it"
                    ),
                );
            }
        }
    }
    if let Some(encode) = &attrs.encode {
        let text = encode.value.value();
        if parse_encode(&text).is_none() {
            let help = suggestion(&text, ENCODINGS);
            cx.error_spanned_by(&encode.value, format!("unknown `encode` `{text}`; {help}"));
        }
    }
    if let Some(len) = &attrs.len {
        if !matches!(len.value.base10_parse::<usize>(), Ok(n) if n >= 1) {
            cx.error_spanned_by(&len.value, "`len` must be a whole number of at least 1");
        }
    }
    if attrs.skip.is_some() {
        for key in [
            attrs.vocab.as_ref().map(|v| &v.key),
            attrs.encode.as_ref().map(|e| &e.key),
        ]
        .into_iter()
        .flatten()
        {
            cx.error_spanned_by(
                key,
                format!(
                    "`{key}` on `{name}` has no effect: `skip` leaves the field out of the model \
                     input; remove one of them"
                ),
            );
        }
    }
}

/// How `field` becomes model input (and its declared list length), from its attributes and the
/// registry's feature; errors go to `cx`.
fn column(
    cx: &mut Ctxt,
    field: &Field<'_>,
    feature: &str,
    rfeature: Option<&Feature>,
    file: Option<&str>,
) -> Option<(Column, Option<usize>)> {
    let kind = field.kind?;
    let attrs = &field.attrs;
    let at = |r: &Feature| format!("{}:{}", file.unwrap_or("the registry"), r.location.line);

    let own_len = match &attrs.len {
        Some(len) => Some(len.value.base10_parse::<usize>().ok().filter(|n| *n >= 1)?),
        None => None,
    };
    let len = match agree(own_len, rfeature.and_then(|r| r.len)) {
        Ok(len) => len,
        Err((_, registry)) => {
            let key = attrs.len.as_ref().map(|l| &l.key);
            cx.error_spanned_by(
                key,
                format!(
                    "this `len` differs from the registry's for `{feature}` ({}: `len = \
                     {registry}`), which writers and trainers share; remove `len` here (or \
                     change it in the registry)",
                    rfeature.map(at).unwrap_or_default()
                ),
            );
            return None;
        }
    };
    let vocab = match agree(
        attrs.vocab.as_ref().map(|v| v.values()),
        rfeature.and_then(|r| r.vocab.clone()),
    ) {
        Ok(vocab) => vocab,
        Err((_, registry)) => {
            let key = attrs.vocab.as_ref().map(|v| &v.key);
            cx.error_spanned_by(
                key,
                format!(
                    "this `vocab` differs from the registry's for `{feature}` ({}: `vocab = \
                     {registry:?}`), which writers and trainers share; remove `vocab` here (or \
                     change it in the registry)",
                    rfeature.map(at).unwrap_or_default()
                ),
            );
            return None;
        }
    };
    if attrs.skip.is_some() {
        return Some((Column::Skip, len));
    }
    let registry_hint = match file {
        Some(file) => format!("here or in {file}"),
        None => "here".to_owned(),
    };
    let column = match kind.scalar {
        Scalar::String => {
            let Some(vocab) = vocab else {
                match &attrs.encode {
                    Some(encode) => cx.error_spanned_by(
                        &encode.key,
                        format!(
                            "`encode` needs a `vocab`, and `{feature}` has none: add \
                             `vocab = [...]` {registry_hint}"
                        ),
                    ),
                    None => cx.error_spanned_by(
                        field.ident,
                        format!(
                            "string feature `{feature}` has no vocabulary, so it cannot be model \
                             input: add `vocab = [...]` (and `encode = \"onehot\"` or \
                             `\"index\"`) {registry_hint}, or mark the field `#[fstore(skip)]`"
                        ),
                    ),
                }
                return None;
            };
            // The field's `encode` is the model's choice and overrides the registry's.
            let encode = match &attrs.encode {
                Some(encode) => parse_encode(&encode.value.value())?,
                None => rfeature.and_then(|r| r.encode).unwrap_or(Encode::OneHot),
            };
            match encode {
                Encode::OneHot => Column::OneHot(vocab),
                Encode::Index => Column::Index(vocab),
            }
        }
        Scalar::FloatList => {
            let Some(len) = len else {
                cx.error_spanned_by(
                    field.ident,
                    format!(
                        "`{feature}` is a `Vec<f32>` without a `len`, so its number of columns \
                         is unknown: add `len = N` {registry_hint}, or mark the field \
                         `#[fstore(skip)]`"
                    ),
                );
                return None;
            };
            Column::List(len)
        }
        _ => Column::Number,
    };
    Some((column, len))
}

#[cfg(test)]
mod tests {
    use super::{agree, parse_encode, Column};
    use fstore_registry::Encode;

    #[test]
    fn column_names_and_widths() {
        let vocab = vec!["basic".to_owned(), "vip".to_owned()];
        let cases = [
            (Column::Skip, vec![]),
            (Column::Number, vec!["user_profile__age"]),
            (Column::Index(vocab.clone()), vec!["user_profile__age"]),
            (
                Column::OneHot(vocab),
                vec!["user_profile__age=basic", "user_profile__age=vip"],
            ),
            (
                Column::List(3),
                vec![
                    "user_profile__age[0]",
                    "user_profile__age[1]",
                    "user_profile__age[2]",
                ],
            ),
        ];
        for (column, names) in cases {
            assert_eq!(column.names("user_profile", "age"), names);
            assert_eq!(column.width(), names.len());
        }
    }

    #[test]
    fn encodings() {
        assert_eq!(parse_encode("onehot"), Some(Encode::OneHot));
        assert_eq!(parse_encode("index"), Some(Encode::Index));
        assert_eq!(parse_encode("one_hot"), None);
    }

    #[test]
    fn field_and_registry_settings_must_agree() {
        assert_eq!(agree(Some(4), None), Ok(Some(4)));
        assert_eq!(agree(None, Some(8)), Ok(Some(8)));
        assert_eq!(agree(Some(8), Some(8)), Ok(Some(8)));
        assert_eq!(agree::<u8>(None, None), Ok(None));
        assert_eq!(agree(Some(4), Some(8)), Err((4, 8)));
    }
}
