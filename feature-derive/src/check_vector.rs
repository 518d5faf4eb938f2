//! Validation of `#[derive(FeatureVector)]`: the fields' views and features (against the registry
//! when there is one), their vector keys, and each view's freshness; each field's model input is
//! resolved by [`column`](crate::column).

use std::collections::HashMap;

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{Ident, LitStr};

use fstore_registry::{suggestion, DefaultValue, Feature};

use crate::ast::{Field, Scalar, Vector};
use crate::check::{self, Declared, ListDecl};
use crate::column::{parse_encode, Column, Source, ENCODINGS};
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
    /// A multi-entity vector's entities, in key order (`key(user, item)`); empty when one id
    /// keys every view.
    pub keys: Vec<String>,
}

/// One view a vector reads.
pub struct ViewSpec {
    pub name: String,
    /// The registry's entity of the view (`None` without a registry).
    pub entity: Option<String>,
    /// The index of that entity in [`CheckedVector::keys`] (0 for a one-entity vector).
    pub key_index: usize,
    /// The first field that reads the view, for errors about the view.
    pub first_field: Span,
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
    /// How a `Vec<f32>` field's list is declared (length and encoding), checked on read.
    pub list: Option<ListDecl>,
    pub column: Column,
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

impl Schema<'_> {
    /// The registry file as the user named it, for messages.
    fn file(&self) -> Option<&str> {
        match self {
            Schema::Registry(loaded) => Some(loaded.name.as_str()),
            _ => None,
        }
    }
}

/// Checks `vector`; errors go to `cx`. `None` when something is wrong.
pub fn check(cx: &mut Ctxt, vector: &Vector<'_>) -> Option<CheckedVector> {
    let store = &vector.attrs.store;
    let loaded = store.registry.as_ref().map(|lit| {
        check::fixed_by_registry(cx, lit, "namespace", store.namespace.as_ref());
        check::fixed_by_registry(cx, lit, "version", store.version.as_ref());
        registry::load(cx, lit)
    });
    let schema = match &loaded {
        None => Schema::Standalone,
        Some(Some(loaded)) => Schema::Registry(loaded),
        Some(None) => Schema::Broken,
    };
    let (namespace, version) = match &schema {
        Schema::Standalone => check::store(cx, store),
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
    let mut reads = Reads {
        namespace,
        version,
        views: Vec::new(),
        seen: HashMap::new(),
    };
    let fields: Vec<Option<FieldSpec>> = vector
        .fields
        .iter()
        .map(|field| field_spec(cx, &schema, &mut reads, field))
        .collect();
    let mut views = reads.views;
    max_age(cx, &schema, &mut views, vector);
    let keys = entities(cx, &schema, &mut views, vector);
    Some(CheckedVector {
        keys,
        views,
        fields: fields.into_iter().collect::<Option<Vec<_>>>()?,
        registry_path: match &schema {
            Schema::Registry(loaded) => Some(loaded.absolute.clone()),
            _ => None,
        },
    })
}

/// Checks one field, and how it is read and becomes model input; `None` when something is wrong
/// with it.
fn field_spec<'a>(
    cx: &mut Ctxt,
    schema: &Schema<'_>,
    reads: &mut Reads<'a>,
    field: &Field<'a>,
) -> Option<FieldSpec> {
    check::field(cx, field);
    field_keys(cx, field);
    let (feature, span) = field.feature_name();
    check::feature_name(cx, &feature, span);
    let view_lit = view_of(cx, field)?;
    let view_name = view_lit.value();
    if let Schema::Standalone = schema {
        check::key_part(cx, Some(view_lit), "view name");
    }
    let (view, feature_index) = reads.add(cx, field, &view_name, &feature, span)?;
    // Without the registry's feature, what it would have said about the field is unknown:
    // report nothing more about it.
    let rfeature = registry_feature(cx, schema, field, view_lit, &feature, span).ok()?;
    let declared = rfeature
        .zip(schema.file())
        .map(|(feature, file)| Declared { feature, file });
    let list = check::list_decl(cx, field, &feature, declared);
    let source = Source {
        field,
        feature: &feature,
        rfeature,
        file: schema.file(),
    };
    let column = source.column(cx, list)?;
    Some(FieldSpec {
        view,
        feature_index,
        registry_default: rfeature.and_then(|r| check::registry_default(field, r)),
        feature,
        list,
        column,
    })
}

/// The views a vector reads, built field by field, and the fields that read each feature.
struct Reads<'a> {
    namespace: String,
    version: u32,
    views: Vec<ViewSpec>,
    /// The field that reads each `(view, feature)`.
    seen: HashMap<(String, String), &'a Ident>,
}

impl<'a> Reads<'a> {
    /// Adds `feature` of `view`, read by `field`: the view's index in the vector and the
    /// feature's in the view. A vector reads each feature once: a second field reading it is an
    /// error on `span`, its stored name.
    fn add(
        &mut self,
        cx: &mut Ctxt,
        field: &Field<'a>,
        view: &str,
        feature: &str,
        span: Span,
    ) -> Option<(usize, usize)> {
        let read = (view.to_owned(), feature.to_owned());
        if let Some(first) = self.seen.insert(read, field.ident) {
            cx.push(syn::Error::new(
                span,
                format!(
                    "feature `{feature}` of view `{view}` is already read by field `{}`; a \
                     vector reads each feature once, so remove one of them",
                    first.unraw()
                ),
            ));
            return None;
        }
        let index = match self.views.iter().position(|v| v.name == view) {
            Some(index) => index,
            None => {
                self.views.push(ViewSpec {
                    key_prefix: fstore_registry::key_prefix(&self.namespace, self.version, view),
                    name: view.to_owned(),
                    entity: None,
                    key_index: 0,
                    first_field: field.attrs.view.as_ref().map_or(span, LitStr::span),
                    features: Vec::new(),
                    max_age_ms: None,
                });
                self.views.len() - 1
            }
        };
        let features = &mut self.views[index].features;
        features.push(feature.to_owned());
        Some((index, features.len() - 1))
    }
}

/// A field names the view it is read from; the error goes on the field.
fn view_of<'f>(cx: &mut Ctxt, field: &'f Field<'_>) -> Option<&'f LitStr> {
    let view = field.attrs.view.as_ref();
    // A misspelt key (`veiw = ...`) already has its error.
    if view.is_none() && !field.attrs.incomplete {
        cx.error_spanned_by(
            field.ident,
            format!(
                "field `{}` has no view: add `#[fstore(view = \"...\")]` naming the feature view \
                 it is read from",
                field.ident.unraw()
            ),
        );
    }
    view
}

/// The registry's feature that `field` reads, checked to exist and to fit the field's type:
/// `Ok(None)` without a registry, `Err` when there is none to fit (already an error).
fn registry_feature<'r>(
    cx: &mut Ctxt,
    schema: &Schema<'r>,
    field: &Field<'_>,
    view: &LitStr,
    feature: &str,
    span: Span,
) -> Result<Option<&'r Feature>, ()> {
    let loaded = match schema {
        Schema::Standalone => return Ok(None),
        Schema::Broken => return Err(()),
        Schema::Registry(loaded) => *loaded,
    };
    let rview = check::registry_view(cx, loaded, &view.value(), view, "").ok_or(())?;
    let rfeature = check::registry_feature(cx, rview, feature, span).ok_or(())?;
    if check::registry_type(cx, field, rfeature, &loaded.name) {
        let declared = Declared {
            feature: rfeature,
            file: &loaded.name,
        };
        check::registry_agreement(cx, field, declared, false);
        Ok(Some(rfeature))
    } else {
        Err(())
    }
}

/// Which entity keys each view. With a registry, every view has an entity: one id keys them
/// all only when they share it; views of several entities need `key(user, item)`, which lists
/// each entity once, in key order. Returns the entities in key order (empty for one entity).
/// Without a registry the views' entities are unknown: `key` is an error, and one id keys every
/// view.
fn entities(
    cx: &mut Ctxt,
    schema: &Schema<'_>,
    views: &mut [ViewSpec],
    vector: &Vector<'_>,
) -> Vec<String> {
    let declared = vector.attrs.key.as_ref();
    let loaded = match schema {
        Schema::Registry(loaded) => *loaded,
        Schema::Standalone => {
            if let Some((key, _)) = declared {
                cx.error_spanned_by(
                    key,
                    "`key` needs a registry, which says each view's entity: add \
                     `registry = \"features.toml\"`",
                );
            }
            return Vec::new();
        }
        Schema::Broken => return Vec::new(),
    };
    for view in views.iter_mut() {
        view.entity = loaded.registry.view(&view.name).map(|v| v.entity.clone());
    }
    let name = vector.ident.unraw();
    let Some((key, entities)) = declared else {
        // One entity: the first view's; a view of another is an error on its first field.
        let Some(first) = views.iter().find_map(|v| v.entity.clone()) else {
            return Vec::new();
        };
        for view in views.iter() {
            let Some(entity) = view.entity.as_deref().filter(|e| *e != first) else {
                continue;
            };
            cx.push(syn::Error::new(
                view.first_field,
                format!(
                    "view `{}` is keyed by entity `{entity}`, and this vector's other views by \
                     `{first}`: one id cannot key both. Declare the vector's key, \
                     `#[feature_vector(key({first}, {entity}))]`, and read it with \
                     `{name}::vector(&store, {name}Key {{ {first}: ..., {entity}: ... }})`",
                    view.name
                ),
            ));
        }
        return Vec::new();
    };
    let keys: Vec<String> = entities.iter().map(|e| e.unraw().to_string()).collect();
    for (ident, entity) in entities.iter().zip(&keys) {
        if loaded.registry.entity(entity).is_none() {
            let help = suggestion(
                entity,
                loaded.registry.entities.iter().map(|e| e.name.as_str()),
            );
            cx.error_spanned_by(
                ident,
                format!("no entity `{entity}` in {}; {help}", loaded.name),
            );
        } else if !views.iter().any(|v| v.entity.as_deref() == Some(entity)) {
            cx.error_spanned_by(
                ident,
                format!(
                    "no view of `{name}` is keyed by `{entity}`; remove it from `key` (its views' \
                     entities: {})",
                    views
                        .iter()
                        .filter_map(|v| v.entity.as_deref())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
    let mut unlisted = false;
    for view in views.iter_mut() {
        let Some(entity) = view.entity.as_deref() else {
            continue;
        };
        match keys.iter().position(|k| k == entity) {
            Some(index) => view.key_index = index,
            None => {
                unlisted = true;
                cx.push(syn::Error::new(
                    view.first_field,
                    format!(
                        "view `{}` is keyed by entity `{entity}`, which `{key}({})` does not \
                         list; add it",
                        view.name,
                        keys.join(", ")
                    ),
                ));
            }
        }
    }
    if keys.len() == 1 && !unlisted {
        cx.error_spanned_by(
            key,
            "every view of this vector has the same entity, so one id keys it: remove `key`",
        );
    }
    keys
}

/// Each view's freshness: the attribute's `max_age`, else the registry's. A `max_age` naming a
/// view that no field reads is an error on its key.
fn max_age(cx: &mut Ctxt, schema: &Schema<'_>, views: &mut [ViewSpec], vector: &Vector<'_>) {
    if let Schema::Registry(loaded) = schema {
        for view in views.iter_mut() {
            if let Some(rview) = loaded.registry.view(&view.name) {
                view.max_age_ms = rview.max_age_seconds.map(|s| s.saturating_mul(1000));
            }
        }
    }
    // Fields without a view (already errors) may be the ones that read it.
    let viewless = vector.fields.iter().any(|f| f.attrs.view.is_none());
    for (key, lit) in vector.attrs.max_age.iter().flatten() {
        let name = key.unraw().to_string();
        let seconds = check::duration_seconds(cx, lit, "max_age");
        match views.iter_mut().find(|v| v.name == name) {
            Some(view) => {
                if let Some(seconds) = seconds {
                    view.max_age_ms = Some(seconds.saturating_mul(1000));
                }
            }
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
}

/// The checks of a field's vector keys that need nothing but the field.
fn field_keys(cx: &mut Ctxt, field: &Field<'_>) {
    keys_fit_type(cx, field);
    encode_known(cx, field);
    skip_alone(cx, field);
}

/// `vocab` and `encode` are only for `String` fields (`len` and `encoding`, only for `Vec<f32>`
/// fields, are checked by [`check::field`]); the error goes on the key.
fn keys_fit_type(cx: &mut Ctxt, field: &Field<'_>) {
    let Some(kind) = field.kind else {
        return;
    };
    let attrs = &field.attrs;
    let keys = [
        (
            attrs.vocab.as_ref().map(|v| &v.key),
            Scalar::String,
            "`String` fields",
        ),
        (
            attrs.encode.as_ref().map(|e| &e.key),
            Scalar::String,
            "`String` fields with a `vocab`",
        ),
    ];
    for (key, scalar, fields) in keys {
        if let Some(key) = key.filter(|_| kind.scalar != scalar) {
            let (name, ty) = (field.ident.unraw(), check::type_text(field.ty));
            cx.error_spanned_by(
                key,
                format!("`{key}` is only for {fields}, and `{name}` is `{ty}`; remove it"),
            );
        }
    }
}

/// `encode` is one of [`ENCODINGS`].
fn encode_known(cx: &mut Ctxt, field: &Field<'_>) {
    let Some(encode) = &field.attrs.encode else {
        return;
    };
    let text = encode.value.value();
    if parse_encode(&text).is_none() {
        let help = suggestion(&text, ENCODINGS);
        cx.error_spanned_by(&encode.value, format!("unknown `encode` `{text}`; {help}"));
    }
}

/// `skip` leaves the field out of the model input: a `vocab` or `encode` beside it would have no
/// effect; the error goes on that key.
fn skip_alone(cx: &mut Ctxt, field: &Field<'_>) {
    let attrs = &field.attrs;
    if attrs.skip.is_none() {
        return;
    }
    let name = field.ident.unraw();
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
