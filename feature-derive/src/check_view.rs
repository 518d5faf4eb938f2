//! Validation of `#[derive(FeatureView)]`: the view's settings come from its attributes, or from
//! the registry it names, which then also fixes each field's feature and type.

use std::collections::HashMap;

use syn::LitStr;

use fstore_registry::DefaultValue;

use crate::ast::View;
use crate::check::{self, Declared, ListDecl};
use crate::ctxt::Ctxt;
use crate::registry;

/// A view that passed every check: what the expansion needs.
pub struct CheckedView {
    pub view: String,
    /// The entity the view's ids name: the registry's, or `entity = "..."`; `None` when unsaid.
    pub entity: Option<String>,
    pub namespace: String,
    pub version: u32,
    pub ttl_seconds: u64,
    /// The stored feature name of each field, in field order.
    pub features: Vec<String>,
    /// The registry's default of each field, where the field has none of its own.
    pub registry_defaults: Vec<Option<DefaultValue>>,
    /// How each `Vec<f32>` field's list is declared (length and encoding); `None` for the others.
    pub lists: Vec<Option<ListDecl>>,
    /// Each `String` field's declared vocabulary (its own `vocab`, or the registry's).
    pub vocabs: Vec<Option<Vec<String>>>,
    /// The registry file's absolute path, when the view comes from one.
    pub registry_path: Option<String>,
}

/// Checks `view`; errors go to `cx`. `None` when something is wrong.
pub fn check(cx: &mut Ctxt, view: &View<'_>) -> Option<CheckedView> {
    match &view.attrs.store.registry {
        Some(lit) => against_registry(cx, view, lit),
        None => standalone(cx, view),
    }
}

/// A view whose settings all come from its attributes.
fn standalone(cx: &mut Ctxt, view: &View<'_>) -> Option<CheckedView> {
    let name = check::key_part(cx, view.attrs.name.as_ref(), "view name")
        .unwrap_or_else(|| default_name(view));
    if view.attrs.name.is_none() && !view.attrs.incomplete {
        // The struct's name is the user's to choose; the view's is shared by every reader and
        // writer of the data, so it is never guessed from the struct's.
        cx.error_spanned_by(
            view.ident,
            format!(
                "a standalone view states its name, which every reader and writer of its keys \
                 shares: add `#[feature_view(name = \"{name}\")]` (or name a registry with \
                 `registry = \"features.toml\"`)"
            ),
        );
    }
    let (namespace, version) = check::store(cx, &view.attrs.store);
    let ttl_seconds = ttl(cx, view);
    if view.fields.is_empty() {
        cx.error_spanned_by(
            view.ident,
            "a feature view needs at least one feature field",
        );
    }
    let features = fields(cx, view);
    let lists = view
        .fields
        .iter()
        .zip(&features)
        .map(|(field, feature)| check::list_decl(cx, field, feature, None))
        .collect();
    let vocabs = view
        .fields
        .iter()
        .zip(&features)
        .map(|(field, feature)| check::vocab_decl(cx, field, feature, None).flatten())
        .collect();
    let entity = check::key_part(cx, view.attrs.entity.as_ref(), "entity name");
    Some(CheckedView {
        view: name,
        entity,
        namespace,
        version,
        ttl_seconds: ttl_seconds?,
        registry_defaults: vec![None; features.len()],
        lists,
        vocabs,
        features,
        registry_path: None,
    })
}

/// A view named in a registry: the registry fixes TTL, version and namespace, and every field
/// must be one of the view's features, of a matching type.
fn against_registry(cx: &mut Ctxt, view: &View<'_>, lit: &LitStr) -> Option<CheckedView> {
    let attrs = &view.attrs;
    check::fixed_by_registry(cx, lit, "ttl", attrs.ttl.as_ref());
    check::fixed_by_registry(cx, lit, "entity", attrs.entity.as_ref());
    check::fixed_by_registry(cx, lit, "version", attrs.store.version.as_ref());
    check::fixed_by_registry(cx, lit, "namespace", attrs.store.namespace.as_ref());
    let features = fields(cx, view);
    let loaded = registry::load(cx, lit)?;
    let name = attrs
        .name
        .as_ref()
        .map_or_else(|| default_name(view), LitStr::value);
    let rview = match &attrs.name {
        Some(given) => check::registry_view(cx, &loaded, &name, given, ""),
        None => check::registry_view(
            cx,
            &loaded,
            &name,
            view.ident,
            " (without `name`, the view is the struct's name in snake_case)",
        ),
    }?;
    let mut registry_defaults = Vec::with_capacity(features.len());
    let mut lists = Vec::with_capacity(features.len());
    let mut vocabs = Vec::with_capacity(features.len());
    for (field, feature) in view.fields.iter().zip(&features) {
        let (_, span) = field.feature_name();
        let Some(rfeature) = check::registry_feature(cx, rview, feature, span) else {
            registry_defaults.push(None);
            lists.push(None);
            vocabs.push(None);
            continue;
        };
        let declared = Declared {
            feature: rfeature,
            file: &loaded.name,
        };
        if check::registry_type(cx, field, rfeature, &loaded.name) {
            check::registry_agreement(cx, field, declared, true);
            lists.push(check::list_decl(cx, field, feature, Some(declared)));
            vocabs.push(check::vocab_decl(cx, field, feature, Some(declared)).flatten());
        } else {
            lists.push(None);
            vocabs.push(None);
        }
        registry_defaults.push(check::registry_default(field, rfeature));
    }
    Some(CheckedView {
        view: name,
        entity: Some(rview.entity.clone()),
        namespace: loaded.registry.namespace.clone(),
        version: loaded.registry.version,
        ttl_seconds: rview.ttl_seconds,
        features,
        registry_defaults,
        lists,
        vocabs,
        registry_path: Some(loaded.absolute.clone()),
    })
}

/// Every write sets an expiry: a standalone view has a `ttl`.
fn ttl(cx: &mut Ctxt, view: &View<'_>) -> Option<u64> {
    match &view.attrs.ttl {
        Some(lit) => check::duration_seconds(cx, lit, "ttl"),
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
    }
}

/// Checks every field on its own (stored name, duplicates, type, default); returns the stored
/// feature names.
fn fields(cx: &mut Ctxt, view: &View<'_>) -> Vec<String> {
    let mut seen: HashMap<String, &syn::Ident> = HashMap::new();
    let mut features = Vec::with_capacity(view.fields.len());
    for field in &view.fields {
        let (feature, span) = field.feature_name();
        check::feature_name(cx, &feature, span);
        if let Some(first) = seen.insert(feature.clone(), field.ident) {
            cx.push(syn::Error::new(
                span,
                format!(
                    "feature `{feature}` is already stored by field `{first}`; rename one of them"
                ),
            ));
        }
        check::field(cx, field);
        features.push(feature);
    }
    features
}

/// The view's name when `name` is not given: the struct's name in snake_case.
fn default_name(view: &View<'_>) -> String {
    snake_case(&view.ident.to_string())
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
    use super::snake_case;

    #[test]
    fn snake_case_of_struct_names() {
        assert_eq!(snake_case("UserProfile"), "user_profile");
        assert_eq!(snake_case("HTTPStats"), "http_stats");
        assert_eq!(snake_case("Item2Vec"), "item2_vec");
        assert_eq!(snake_case("user"), "user");
    }
}
