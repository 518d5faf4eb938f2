//! Validation of `#[derive(FeatureVector)]`: the fields' views and features (against the registry
//! when there is one), their vector keys, and each view's freshness; the fields read from the
//! registry's real-time aggregations; each field's model input is resolved by
//! [`column`](crate::column).

use std::collections::HashMap;

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{Ident, LitStr};

use fstore_registry::{suggestion, DefaultValue, Feature, Registry};

use crate::ast::{Field, Kind, Scalar, Vector};
use crate::check::{self, Declared, ListDecl};
use crate::column::{parse_encode, Column, Source, ENCODINGS};
use crate::ctxt::Ctxt;
use crate::registry::{self, Loaded};

/// A vector that passed every check: what the expansion needs.
pub struct CheckedVector {
    /// The views read, each once, in order of first use.
    pub views: Vec<ViewSpec>,
    /// The real-time aggregations read, each once, in order of first use.
    pub aggregations: Vec<AggregationSpec>,
    /// One per field, in field order.
    pub fields: Vec<FieldSpec>,
    /// The registry file's absolute path, when the vector is checked against one.
    pub registry_path: Option<String>,
    /// The registry, when the vector is checked against one: its aggregations' declarations.
    pub registry: Option<Registry>,
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

/// One real-time aggregation a vector reads.
pub struct AggregationSpec {
    pub name: String,
    /// The registry's entity of the aggregation.
    pub entity: String,
    /// The `aggregation = "..."` of the first field that reads it, for errors about it.
    pub first_field: Span,
}

/// Where a field's value is read from.
#[derive(Clone, Copy)]
pub enum Read {
    /// Feature `index` of view `view`: indices into [`CheckedVector::views`] and that view's
    /// features.
    View { view: usize, index: usize },
    /// Feature `index` of aggregation `aggregation`: an index into
    /// [`CheckedVector::aggregations`], and the feature's position in the registry's
    /// declaration (the aggregation's spec computes every feature, in that order).
    Aggregation { aggregation: usize, index: usize },
}

/// How one field is read and turned into model input.
pub struct FieldSpec {
    /// Where the value is read from.
    pub read: Read,
    /// The stored feature name (an aggregation's feature name).
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
        aggregations: Vec::new(),
        seen: HashMap::new(),
    };
    let fields: Vec<Option<FieldSpec>> = vector
        .fields
        .iter()
        .map(|field| field_spec(cx, &schema, &mut reads, field))
        .collect();
    let (mut views, aggregations) = (reads.views, reads.aggregations);
    max_age(cx, &schema, &mut views, vector);
    let keys = entities(cx, &schema, &mut views, &aggregations, vector);
    let registry_path = match &schema {
        Schema::Registry(loaded) => Some(loaded.absolute.clone()),
        _ => None,
    };
    Some(CheckedVector {
        keys,
        views,
        aggregations,
        fields: fields.into_iter().collect::<Option<Vec<_>>>()?,
        registry_path,
        registry: loaded.flatten().map(|l| l.registry),
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
    if let Some(aggregation) = &field.attrs.aggregation {
        return aggregation_field(cx, schema, reads, field, aggregation);
    }
    check::field(cx, field);
    field_keys(cx, field);
    let (feature, span) = field.feature_name();
    check::feature_name(cx, &feature, span);
    let view_lit = view_of(cx, field)?;
    let view_name = view_lit.value();
    if let Schema::Standalone = schema {
        check::key_part(cx, Some(view_lit), "view name");
    }
    let (view, index) = reads.add(cx, field, &view_name, &feature, span)?;
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
        read: Read::View { view, index },
        registry_default: rfeature.and_then(|r| check::registry_default(field, r)),
        feature,
        list,
        column,
    })
}

/// The views and aggregations a vector reads, built field by field, and the fields that read
/// each feature.
struct Reads<'a> {
    namespace: String,
    version: u32,
    views: Vec<ViewSpec>,
    aggregations: Vec<AggregationSpec>,
    /// The field that reads each `(view, feature)` (or `(aggregation, feature)`, under
    /// [`Origin::Aggregation`]).
    seen: HashMap<(Origin, String, String), &'a Ident>,
}

/// What a vector reads a feature from, for [`Reads::seen`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Origin {
    View,
    Aggregation,
}

impl Origin {
    /// For messages: `view` or `aggregation`.
    fn noun(self) -> &'static str {
        match self {
            Origin::View => "view",
            Origin::Aggregation => "aggregation",
        }
    }
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
        self.first_read(cx, field, Origin::View, view, feature, span)?;
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

    /// Adds aggregation `name` (of `entity`), read by `field` (whose `aggregation = "..."` is
    /// `lit`) for `feature` (its stored name at `span`): the aggregation's index in the vector.
    /// A second field reading the same feature is an error on `span`.
    fn add_aggregation(
        &mut self,
        cx: &mut Ctxt,
        field: &Field<'a>,
        (lit, entity): (&LitStr, &str),
        feature: &str,
        span: Span,
    ) -> Option<usize> {
        let name = lit.value();
        self.first_read(cx, field, Origin::Aggregation, &name, feature, span)?;
        Some(
            match self.aggregations.iter().position(|a| a.name == name) {
                Some(index) => index,
                None => {
                    self.aggregations.push(AggregationSpec {
                        name,
                        entity: entity.to_owned(),
                        first_field: lit.span(),
                    });
                    self.aggregations.len() - 1
                }
            },
        )
    }

    /// Notes that `field` reads `feature` of `origin` `name`; `None` (and an error on `span`)
    /// when another field already does.
    fn first_read(
        &mut self,
        cx: &mut Ctxt,
        field: &Field<'a>,
        origin: Origin,
        name: &str,
        feature: &str,
        span: Span,
    ) -> Option<()> {
        let read = (origin, name.to_owned(), feature.to_owned());
        if let Some(first) = self.seen.insert(read, field.ident) {
            cx.push(syn::Error::new(
                span,
                format!(
                    "feature `{feature}` of {} `{name}` is already read by field `{}`; a vector \
                     reads each feature once, so remove one of them",
                    origin.noun(),
                    first.unraw()
                ),
            ));
            return None;
        }
        Some(())
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
                 it is read from (or `aggregation = \"...\"` naming a real-time aggregation of \
                 the registry)",
                field.ident.unraw()
            ),
        );
    }
    view
}

/// Checks a field read from a real-time aggregation (`lit`, its `aggregation = "..."`), and how
/// it becomes model input; `None` when something is wrong with it. The aggregation is the
/// registry's (so the vector needs one), of the vector's entity; the feature is one of it; the
/// field's type is exactly the feature's value's; `view`, `default` and the keys of view fields
/// do not apply.
fn aggregation_field<'a>(
    cx: &mut Ctxt,
    schema: &Schema<'_>,
    reads: &mut Reads<'a>,
    field: &Field<'a>,
    lit: &LitStr,
) -> Option<FieldSpec> {
    aggregation_keys(cx, field, lit);
    let loaded = match schema {
        Schema::Registry(loaded) => *loaded,
        Schema::Broken => return None,
        Schema::Standalone => {
            cx.error_spanned_by(
                lit,
                "`aggregation` needs a registry, which declares the aggregation: add \
                 `registry = \"features.toml\"` to `#[feature_vector(...)]`",
            );
            return None;
        }
    };
    let name = lit.value();
    let Some(aggregation) = loaded.registry.aggregation(&name) else {
        let names = loaded.registry.aggregations.iter().map(|a| a.name.as_str());
        let help = suggestion(&name, names);
        cx.error_spanned_by(
            lit,
            format!("no aggregation `{name}` in `{}`; {help}", loaded.name),
        );
        return None;
    };
    let (feature, span) = field.feature_name();
    let Some(index) = aggregation.features.iter().position(|f| f.name == feature) else {
        let help = suggestion(&feature, aggregation.feature_names());
        cx.push(syn::Error::new(
            span,
            format!("no feature `{feature}` in aggregation `{name}`; {help}"),
        ));
        return None;
    };
    let rfeature = &aggregation.features[index];
    let expected = aggregation.result_rust_type(rfeature);
    let Some(kind) = field.kind.filter(|k| kind_text(*k) == expected) else {
        let of = rfeature
            .of
            .as_deref()
            .map_or_else(String::new, |of| format!(" of `{of}`"));
        cx.error_spanned_by(
            field.ty,
            format!(
                "`{feature}` of aggregation `{name}` (`fn = \"{}\"`{of}, {}:{}) is \
                 `{expected}`, and the field is `{}`: make the field `{expected}`",
                rfeature.function.name(),
                loaded.name,
                rfeature.location.line,
                check::type_text(field.ty)
            ),
        );
        return None;
    };
    let aggregation_index =
        reads.add_aggregation(cx, field, (lit, &aggregation.entity), &feature, span)?;
    let column = if field.attrs.skip.is_some() {
        Column::Skip
    } else if kind.scalar == Scalar::String {
        cx.error_spanned_by(
            field.ident,
            format!(
                "`{feature}` of aggregation `{name}` is the last `String` of its window, which has \
                 no vocabulary, so it cannot be model input: mark the field `#[fstore(skip)]`, or \
                 read it with the aggregation's own struct instead"
            ),
        );
        return None;
    } else {
        Column::Number
    };
    Some(FieldSpec {
        read: Read::Aggregation {
            aggregation: aggregation_index,
            index,
        },
        feature,
        registry_default: None,
        list: None,
        column,
    })
}

/// The keys that do not apply to a field read from aggregation `lit`: `view` (a field is read
/// from one or the other), `default` (an aggregation always has a value) and the view fields'
/// `vocab`, `encode`, `len` and `encoding`; each error goes on the key.
fn aggregation_keys(cx: &mut Ctxt, field: &Field<'_>, lit: &LitStr) {
    let attrs = &field.attrs;
    let (name, aggregation) = (field.ident.unraw(), lit.value());
    if let Some(view) = &attrs.view {
        cx.error_spanned_by(
            view,
            format!(
                "`{name}` names both a `view` and an `aggregation`: a field is read from one \
                 view or one aggregation; remove one of them"
            ),
        );
    }
    if let Some(default) = &attrs.default {
        cx.error_spanned_by(
            default,
            format!(
                "`default` on `{name}`, read from aggregation `{aggregation}`, never applies: an \
                 aggregation always has a value (0 for counts and sums without events, `None` for \
                 the others); remove it"
            ),
        );
    }
    let keys = [
        attrs.vocab.as_ref().map(|v| &v.key),
        attrs.encode.as_ref().map(|e| &e.key),
        attrs.len.as_ref().map(|l| &l.key),
        attrs.encoding.as_ref().map(|e| &e.key),
    ];
    for key in keys.into_iter().flatten() {
        cx.error_spanned_by(
            key,
            format!(
                "`{key}` is only for fields read from a view, and `{name}` is read from \
                 aggregation `{aggregation}`; remove it"
            ),
        );
    }
}

/// A field's type as an aggregation's feature type is named
/// ([`Aggregation::result_rust_type`](fstore_registry::Aggregation::result_rust_type)):
/// `i64`, `Option<f64>`.
fn kind_text(kind: Kind) -> String {
    let scalar = kind.scalar.rust_name();
    if kind.optional {
        format!("Option<{scalar}>")
    } else {
        scalar.to_owned()
    }
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
    aggregations: &[AggregationSpec],
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
    if declared.is_some() {
        for aggregation in aggregations {
            cx.push(syn::Error::new(
                aggregation.first_field,
                format!(
                    "a vector with `key(...)` (several entities) cannot read real-time \
                     aggregations yet; read `{}` in a vector keyed by one `{}` id, or on its own \
                     (its struct's `read`)",
                    aggregation.name, aggregation.entity
                ),
            ));
        }
    }
    let Some((key, entities)) = declared else {
        // One entity: the first view's (else the first aggregation's); a view or an aggregation
        // of another is an error on its first field.
        let Some(first) = views
            .iter()
            .find_map(|v| v.entity.clone())
            .or_else(|| aggregations.first().map(|a| a.entity.clone()))
        else {
            return Vec::new();
        };
        for aggregation in aggregations.iter().filter(|a| a.entity != first) {
            cx.push(syn::Error::new(
                aggregation.first_field,
                format!(
                    "aggregation `{}` is keyed by entity `{}`, and this vector by `{first}`: one \
                     id cannot key both; read `{}` in a vector of `{}`s, or on its own (its \
                     struct's `read`)",
                    aggregation.name, aggregation.entity, aggregation.name, aggregation.entity
                ),
            ));
        }
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
    let viewless = vector
        .fields
        .iter()
        .any(|f| f.attrs.view.is_none() && f.attrs.aggregation.is_none());
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
