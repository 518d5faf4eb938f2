//! The structs of one real-time aggregation: its event (`UserTxnEvent`, with `record`,
//! `record_at` and `record_batch`) and its windowed features (`UserTxn`, with `read`, `read_at`
//! and `read_batch`), both built on one `Spec` that the generated code makes once from the
//! registry's declaration, spelled out as literals.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use fstore_registry::{is_keyword, pascal_case, AggFeature, AggFunction, Aggregation, Registry};

use super::{docs, scalar_type, wrap, Options, TypePaths};

/// The event struct, the features struct and their impls for `aggregation`.
pub fn items(
    registry: &Registry,
    aggregation: &Aggregation,
    paths: TypePaths,
    options: &Options,
) -> TokenStream {
    let krate = options
        .crate_path
        .clone()
        .unwrap_or_else(|| quote!(::fstore));
    let agg = quote!(#krate::__private::agg);
    let features_ident = Ident::new(&pascal_case(&aggregation.name), Span::call_site());
    let event_ident = format_ident!("{}Event", features_ident);
    let derives = &options.derives;
    let name = &aggregation.name;

    // The docs both structs share: what the aggregation is and where it lives.
    let entity = match registry
        .entity(&aggregation.entity)
        .and_then(|e| e.description.as_deref())
    {
        Some(description) => format!("`{}` ({})", aggregation.entity, description.trim()),
        None => format!("`{}`", aggregation.entity),
    };
    let granularity: Vec<String> = aggregation
        .granularity_ms
        .iter()
        .map(|&ms| format!("`{}`", fstore_registry::duration_text(ms / 1000)))
        .collect();
    let layout = format!(
        "one hash per entity at `{}{{<id>}}`, in buckets of {}",
        registry.key_prefix(name),
        granularity.join(", ")
    );

    // The event.
    let event_docs = docs(&wrap(&format!(
        "An event of aggregation `{name}` of entity {entity}: record it with \
         [`{event_ident}::record`] at its own time (or many with \
         [`{event_ident}::record_batch`]), then read the windowed features as \
         [`{features_ident}`]. Every field is required."
    )));
    let event_fields = aggregation.event.iter().map(|field| {
        let ident = field_ident(&field.name);
        let ty = scalar_type(field.ty, paths);
        let text = match &field.description {
            Some(description) => description.trim_end().to_owned(),
            None => wrap(&format!(
                "The event's `{}` (`{}`).",
                field.name,
                field.ty.name()
            )),
        };
        let docs = docs(&text);
        quote! {
            #docs
            pub #ident: #ty,
        }
    });
    let values = aggregation.event.iter().map(|field| {
        let ident = field_ident(&field.name);
        let variant = match field.ty {
            fstore_registry::FeatureType::Int => quote!(Int),
            fstore_registry::FeatureType::Float => quote!(Float),
            fstore_registry::FeatureType::String => quote!(String),
            fstore_registry::FeatureType::Bool => quote!(Bool),
            // Never an event type (the registry refuses it): a list value, which the runtime
            // would refuse as of the wrong type.
            fstore_registry::FeatureType::FloatList => quote!(FloatList),
        };
        quote!(#agg::Value::#variant(self.#ident))
    });
    let finest = aggregation.granularity_ms.first().copied().unwrap_or(1000);
    let late = fstore_registry::duration_text(finest / 1000);
    let record_doc = docs(&wrap(&format!(
        "Records this event for entity `id` at event time `ts_ms` (epoch milliseconds), with \
         the clock at now: one atomic script call that updates every feature of `{name}`. \
         `Recorded::Late` when no window covers `ts_ms` any more, `Recorded::Future` when it \
         is more than `{late}` (the finest bucket) ahead of the clock; neither sends anything."
    )));
    let record_at_doc = docs(&wrap(
        "[`record`](Self::record) with the clock at `now_ms` (epoch milliseconds): replays, \
         tests.",
    ));
    let record_batch_doc = docs(&wrap(
        "Records many `(id, ts_ms, event)`s with the clock at now, in pipelines, each event \
         atomic on its own. The report counts the events applied and lists, by index, those \
         refused for their time.",
    ));

    // The features.
    let mut text = String::new();
    if let Some(description) = &aggregation.description {
        text.push_str(description.trim_end());
        text.push_str("\n\n");
    }
    text.push_str(&wrap(&format!(
        "The windowed features of aggregation `{name}` of entity {entity}, computed in the \
         store from the events recorded as [`{event_ident}`]: {layout}. Read them with \
         [`{features_ident}::read`] (the clock at now), [`{features_ident}::read_at`] or \
         [`{features_ident}::read_batch`], one round trip each; an entity without events reads \
         as zero counts and sums, and `None` for the others."
    )));
    let features_docs = docs(&text);
    let feature_fields = aggregation.features.iter().map(|feature| {
        let ident = field_ident(&feature.name);
        let ty = result_type(aggregation.result_rust_type(feature), paths);
        let mut text = feature
            .description
            .as_deref()
            .map(str::trim_end)
            .unwrap_or_default()
            .to_owned();
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&wrap(&feature_sentence(feature)));
        let docs = docs(&text);
        quote! {
            #docs
            pub #ident: #ty,
        }
    });
    let takes = aggregation
        .features
        .iter()
        .enumerate()
        .map(|(index, feature)| {
            let ident = field_ident(&feature.name);
            let field = &feature.name;
            let index = Literal::usize_unsuffixed(index);
            quote!(#ident: #agg::take(&mut __features, #index, #field)?,)
        });

    let spec = aggregation_spec(registry, aggregation, &krate);

    quote! {
        #event_docs
        #[derive(Debug, Clone, PartialEq #(, #derives)*)]
        pub struct #event_ident {
            #(#event_fields)*
        }

        #[automatically_derived]
        impl #krate::AggregationEvent for #event_ident {
            fn spec() -> &'static #agg::Spec {
                <#features_ident as #krate::AggregationFeatures>::spec()
            }

            fn into_values(self) -> ::std::vec::Vec<#agg::Value> {
                ::std::vec![#(#values),*]
            }
        }

        #[allow(dead_code)]
        impl #event_ident {
            #record_doc
            pub async fn record(
                self,
                store: &#krate::Store,
                id: impl #krate::EntityId,
                ts_ms: u64,
            ) -> #krate::Result<#krate::Recorded> {
                #agg::record(store, id, ts_ms, self).await
            }

            #record_at_doc
            pub async fn record_at(
                self,
                store: &#krate::Store,
                id: impl #krate::EntityId,
                ts_ms: u64,
                now_ms: u64,
            ) -> #krate::Result<#krate::Recorded> {
                #agg::record_at(store, id, ts_ms, self, now_ms).await
            }

            #record_batch_doc
            pub async fn record_batch<I, E>(
                store: &#krate::Store,
                events: E,
            ) -> #krate::Result<#krate::RecordReport>
            where
                E: ::core::iter::IntoIterator<Item = (I, u64, Self)>,
                I: #krate::EntityId,
            {
                #agg::record_batch::<Self, I>(store, events).await
            }
        }

        #features_docs
        #[derive(Debug, Clone, PartialEq #(, #derives)*)]
        pub struct #features_ident {
            #(#feature_fields)*
        }

        #[automatically_derived]
        impl #krate::AggregationFeatures for #features_ident {
            fn spec() -> &'static #agg::Spec {
                #spec
            }

            fn from_features(
                mut __features: #agg::Features,
            ) -> #krate::Result<Self> {
                ::core::result::Result::Ok(#features_ident {
                    #(#takes)*
                })
            }
        }

        #[allow(dead_code)]
        impl #features_ident {
            /// Reads the features of entity `id` with the clock at now: one round trip.
            pub async fn read(
                store: &#krate::Store,
                id: impl #krate::EntityId,
            ) -> #krate::Result<Self> {
                #agg::read::<Self>(store, id).await
            }

            /// [`read`](Self::read) with the clock at `now_ms` (epoch milliseconds): each window
            /// ends with the bucket `now_ms` is in.
            pub async fn read_at(
                store: &#krate::Store,
                id: impl #krate::EntityId,
                now_ms: u64,
            ) -> #krate::Result<Self> {
                #agg::read_at::<Self>(store, id, now_ms).await
            }

            /// Reads the features of many entities with the clock at now, in pipelines; one
            /// result per id, in input order.
            pub async fn read_batch<I>(
                store: &#krate::Store,
                ids: I,
            ) -> #krate::Result<::std::vec::Vec<Self>>
            where
                I: ::core::iter::IntoIterator,
                I::Item: #krate::EntityId,
            {
                #agg::read_batch::<Self, I::Item>(store, ids).await
            }
        }
    }
}

/// The expression, of type `&'static Spec`, of `aggregation`'s spec (`aggregation` of
/// `registry`): a block with a `static` `OnceLock` that builds it, the first time it is
/// evaluated, with `Spec::build` from the declaration written out as literals (name, key prefix,
/// finest granularity, event fields, and each feature's function, field, window and
/// resolution). `crate_path` is the path generated code names fstore by (`::fstore`). The
/// features struct's `AggregationFeatures::spec` is this expression, and so is the spec of each
/// aggregation a `#[derive(FeatureVector)]` reads.
///
/// `Spec::build` fails only on what the registry already refuses (a window that is not a whole
/// number of its buckets, buckets below a second or not whole seconds, a function over a field
/// it does not apply to): these literals come from a registry that passed validation, so the
/// expression panics, naming the aggregation, only on code edited by hand or a generator bug.
pub fn aggregation_spec(
    registry: &Registry,
    aggregation: &Aggregation,
    crate_path: &TokenStream,
) -> TokenStream {
    let agg = quote!(#crate_path::__private::agg);
    let name = &aggregation.name;
    let prefix = registry.key_prefix(name);
    let finest = aggregation.granularity_ms.first().copied().unwrap_or(1000);
    let finest = Literal::u64_unsuffixed(finest);
    let event_decls = aggregation.event.iter().map(|field| {
        let field_name = &field.name;
        let ty = feature_type(field.ty);
        quote!((#field_name, #agg::FeatureType::#ty))
    });
    let feature_decls = aggregation.features.iter().map(|feature| {
        let feature_name = &feature.name;
        let function = function_variant(feature.function);
        let of = match &feature.of {
            Some(of) => quote!(::core::option::Option::Some(#of)),
            None => quote!(::core::option::Option::None),
        };
        let window_ms = Literal::u64_unsuffixed(feature.window_ms);
        let resolution_ms = Literal::u64_unsuffixed(feature.resolution_ms);
        quote! {
            #agg::FeatureDecl {
                name: #feature_name,
                function: #agg::AggFunction::#function,
                of: #of,
                window_ms: #window_ms,
                resolution_ms: #resolution_ms,
            }
        }
    });
    let panic = format!(
        "fstore: the generated spec of aggregation `{name}` is inconsistent ({{}}); regenerate \
         it from a registry that passes `fstore check`"
    );
    quote! {
        {
            static SPEC: ::std::sync::OnceLock<#agg::Spec> = ::std::sync::OnceLock::new();
            SPEC.get_or_init(|| {
                match #agg::Spec::build(
                    #name,
                    #prefix,
                    #finest,
                    [#(#event_decls),*],
                    [#(#feature_decls),*],
                ) {
                    ::core::result::Result::Ok(spec) => spec,
                    ::core::result::Result::Err(error) => ::core::panic!(#panic, error),
                }
            })
        }
    }
}

/// A field's name: raw (`r#type`) when it is a keyword.
fn field_ident(name: &str) -> Ident {
    if is_keyword(name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

/// The tokens of a feature's Rust type, as [`Aggregation::result_rust_type`] names it
/// (`i64`, `Option<f64>`, `Option<String>`), with the prelude types written as `paths` says.
fn result_type(name: &str, paths: TypePaths) -> TokenStream {
    if let Some(inner) = name
        .strip_prefix("Option<")
        .and_then(|rest| rest.strip_suffix('>'))
    {
        let option = paths.option();
        let inner = result_type(inner, paths);
        return quote!(#option<#inner>);
    }
    match name {
        "String" => paths.string(),
        "Vec<f32>" => {
            let vec = paths.vec();
            quote!(#vec<f32>)
        }
        primitive => {
            let ident = Ident::new(primitive, Span::call_site());
            quote!(#ident)
        }
    }
}

/// The `FeatureType` variant of `ty`.
fn feature_type(ty: fstore_registry::FeatureType) -> Ident {
    let name = match ty {
        fstore_registry::FeatureType::Int => "Int",
        fstore_registry::FeatureType::Float => "Float",
        fstore_registry::FeatureType::String => "String",
        fstore_registry::FeatureType::Bool => "Bool",
        fstore_registry::FeatureType::FloatList => "FloatList",
    };
    Ident::new(name, Span::call_site())
}

/// The `AggFunction` variant of `function`.
fn function_variant(function: AggFunction) -> Ident {
    let name = match function {
        AggFunction::Count => "Count",
        AggFunction::Sum => "Sum",
        AggFunction::Avg => "Avg",
        AggFunction::Min => "Min",
        AggFunction::Max => "Max",
        AggFunction::Last => "Last",
        AggFunction::Distinct => "Distinct",
    };
    Ident::new(name, Span::call_site())
}

/// The sentence of a feature's docs: what it computes, over which window, and its value
/// without events.
fn feature_sentence(feature: &AggFeature) -> String {
    let bucket = fstore_registry::duration_text(feature.resolution_ms / 1000);
    let buckets = match feature.buckets {
        1 => format!("1 bucket of `{bucket}`"),
        n => format!("{n} buckets of `{bucket}`"),
    };
    let window = format!(
        "the last `{}` ({buckets}, the current one included)",
        feature.window_text
    );
    let of = feature.of.as_deref().unwrap_or_default();
    match feature.function {
        AggFunction::Count => format!("`count`: the events of {window}; 0 without events."),
        AggFunction::Sum => {
            format!("`sum` of `{of}` over the events of {window}; 0 without events.")
        }
        AggFunction::Avg => {
            format!("`avg` of `{of}` over the events of {window}; `None` without events.")
        }
        AggFunction::Min => {
            format!("`min` of `{of}` over the events of {window}; `None` without events.")
        }
        AggFunction::Max => {
            format!("`max` of `{of}` over the events of {window}; `None` without events.")
        }
        AggFunction::Last => {
            format!("`last`: the `{of}` of the latest event of {window}; `None` without events.")
        }
        AggFunction::Distinct => format!(
            "`distinct`: the number of distinct values of `{of}` in {window}; 0 without events. \
             Approximate on a server (a HyperLogLog: 0.81% standard error), exact embedded."
        ),
    }
}
