//! Code generation for `#[derive(FeatureVector)]`: the `FeatureVector` impl (with the specs of
//! the real-time aggregations it reads, from `fstore_codegen`), the model input's width and
//! column names, and the typed methods.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::Ident;

use crate::ast::Vector;
use crate::attr::fstore_path;
use crate::check_vector::{CheckedVector, Read};
use crate::column::Column;
use crate::expand_default::field_default;
use crate::expand_view::list_spec;
use crate::registry;

/// The expansion of a vector that passed every check.
pub fn expand(vector: &Vector<'_>, checked: &CheckedVector) -> TokenStream {
    let ident = vector.ident;
    let krate = &fstore_path(vector.attrs.krate.as_ref());
    let views = checked.views.iter().map(|view| {
        let name = &view.name;
        let key_prefix = &view.key_prefix;
        let read_fields = view
            .features
            .iter()
            .map(String::as_str)
            .chain(["_updated_at"]);
        let max_age_ms = match view.max_age_ms {
            Some(ms) => {
                let ms = Literal::u64_unsuffixed(ms);
                quote!(::core::option::Option::Some(#ms))
            }
            None => quote!(::core::option::Option::None),
        };
        let key = Literal::usize_unsuffixed(view.key_index);
        quote! {
            #krate::__private::VectorView {
                name: #name,
                key_prefix: #key_prefix,
                read_fields: &[#(#read_fields),*],
                max_age_ms: #max_age_ms,
                key: #key,
            }
        }
    });
    let keys = &checked.keys;
    let aggregations = aggregations(krate, checked);

    let decode_fields = vector
        .fields
        .iter()
        .zip(&checked.fields)
        .map(|(field, spec)| {
            let f = field.ident;
            let ty = field.ty;
            let rows = quote!(#krate::__private::VectorRows);
            let (view, index) = match spec.read {
                Read::View { view, index } => (view, index),
                Read::Aggregation { aggregation, index } => {
                    let aggregation = Literal::usize_unsuffixed(aggregation);
                    let index = Literal::usize_unsuffixed(index);
                    let feature = &spec.feature;
                    return quote_spanned! {ty.span()=>
                        #f: #rows::aggregate::<#ty>(rows, #aggregation, #index, #feature)?
                    };
                }
            };
            let view = Literal::usize_unsuffixed(view);
            // `_updated_at` is last, so a feature's position in the row is its position in the view.
            let index = Literal::usize_unsuffixed(index);
            if let Some(list) = &spec.list {
                let spec = list_spec(&quote!(#krate::__private), list);
                return quote_spanned! {ty.span()=>
                    #f: #rows::get_list::<#ty>(rows, #view, #index, &#spec)?
                };
            }
            let default = match field_default(field, spec.registry_default.as_ref()) {
                Some(default) => quote_spanned! {ty.span()=>
                    ::core::option::Option::Some::<fn() -> #ty>(|| #default)
                },
                None => quote!(::core::option::Option::None),
            };
            match &spec.column {
                Column::OneHot(vocab) | Column::Index(vocab) => quote_spanned! {ty.span()=>
                    #f: #rows::get_vocab::<#ty>(rows, #view, #index, #default, &[#(#vocab),*])?
                },
                _ => quote_spanned! {ty.span()=>
                    #f: #rows::get::<#ty>(rows, #view, #index, #default)?
                },
            }
        });

    let mut offset = 0;
    let mut columns: Vec<String> = Vec::new();
    let mut writes = Vec::new();
    for (field, spec) in vector.fields.iter().zip(&checked.fields) {
        let f = field.ident;
        let start = Literal::usize_unsuffixed(offset);
        let width = spec.column.width();
        let end = Literal::usize_unsuffixed(offset + width);
        let private = quote!(#krate::__private);
        writes.push(match &spec.column {
            Column::Skip => quote!(),
            Column::Number => quote! {
                out[#start] = #private::Column::column(&self.#f);
            },
            Column::OneHot(vocab) => quote! {
                #private::vocab_onehot(&self.#f, &[#(#vocab),*], &mut out[#start..#end]);
            },
            Column::Index(vocab) => quote! {
                out[#start] = #private::vocab_index(&self.#f, &[#(#vocab),*]);
            },
            Column::List(_) => quote! {
                #private::list_columns(&self.#f, &mut out[#start..#end]);
            },
        });
        let source = match spec.read {
            Read::View { view, .. } => &checked.views[view].name,
            Read::Aggregation { aggregation, .. } => &checked.aggregations[aggregation].name,
        };
        columns.extend(spec.column.names(source, &spec.feature));
        offset += width;
    }
    let width = offset;
    let width_lit = Literal::usize_unsuffixed(width);
    let write_f32 = if width == 0 {
        quote! {
            fn write_f32(&self, _: &mut [::core::primitive::f32]) {}
        }
    } else {
        let message = format!(
            "`{}::write_f32` needs at least {width} columns (`WIDTH`), got {{}}",
            ident.unraw()
        );
        quote! {
            fn write_f32(&self, out: &mut [::core::primitive::f32]) {
                ::core::assert!(out.len() >= #width_lit, #message, out.len());
                #(#writes)*
            }
        }
    };

    let trait_impl = quote! {
        #[automatically_derived]
        impl #krate::FeatureVector for #ident {
            const VIEWS: &'static [#krate::__private::VectorView] = &[#(#views),*];
            const WIDTH: ::core::primitive::usize = #width_lit;
            const KEYS: &'static [&'static ::core::primitive::str] = &[#(#keys),*];
            #aggregations

            fn decode(
                rows: &mut #krate::__private::VectorRows<'_>,
            ) -> #krate::Result<Self> {
                ::core::result::Result::Ok(Self { #(#decode_fields,)* })
            }

            #write_f32
        }
    };
    let inherent = if keys.is_empty() {
        inherent_items(ident, krate, width, &columns)
    } else {
        let model = model_items(ident, krate, width, &columns);
        let keyed = keyed_items(ident, krate, keys);
        quote! {
            #model
            #keyed
        }
    };
    let rebuild = checked
        .registry_path
        .as_deref()
        .map(registry::rebuild_on_change);
    quote! {
        #trait_impl
        #inherent
        #rebuild
    }
}

/// `FeatureVector::AGGREGATIONS` of a vector that reads real-time aggregations (nothing for one
/// that reads none): each aggregation's name and a function returning its spec, built once from
/// the registry's declaration by the same generator as `registry!`'s structs.
fn aggregations(krate: &TokenStream, checked: &CheckedVector) -> TokenStream {
    let Some(registry) = checked.registry.as_ref() else {
        return TokenStream::new();
    };
    if checked.aggregations.is_empty() {
        return TokenStream::new();
    }
    let items = checked.aggregations.iter().filter_map(|spec| {
        let aggregation = registry.aggregation(&spec.name)?;
        let name = &spec.name;
        let build = fstore_codegen::aggregation_spec(registry, aggregation, krate);
        Some(quote! {
            #krate::__private::VectorAggregation {
                name: #name,
                spec: {
                    fn spec() -> &'static #krate::__private::agg::Spec {
                        #build
                    }
                    spec
                },
            }
        })
    });
    quote! {
        const AGGREGATIONS: &'static [#krate::__private::VectorAggregation] = &[#(#items),*];
    }
}

/// `WIDTH`, `COLUMNS` and the typed methods of a vector keyed by one id; they forward to the
/// typed operations in `fstore::__private` and to the trait. Also emitted (with no columns)
/// beside a stub impl when the derive fails, so that callers see no second error. `krate` is the
/// path fstore is named by (`::fstore`, or the struct's `crate = ...`).
pub fn inherent_items(
    ident: &Ident,
    krate: &TokenStream,
    width: usize,
    columns: &[String],
) -> TokenStream {
    let model = model_items(ident, krate, width, columns);
    quote! {
        #model

        #[automatically_derived]
        #[allow(dead_code)]
        impl #ident {
            /// Reads the vector of entity `id`: one `HMGET` per view (and each real-time
            /// aggregation's reads), all in one pipeline.
            ///
            /// # Errors
            /// `Error::MissingFeature` for a required feature with no value (or a stale row) and
            /// no default; `Error::Decode`; `Error::InvalidEntityId`; transport errors.
            pub async fn vector(
                store: &#krate::Store,
                id: impl #krate::EntityId,
            ) -> #krate::Result<Self> {
                #krate::__private::vector::<Self>(store, id).await
            }

            /// [`vector`](Self::vector), plus a report of which fields were stored, defaulted,
            /// stale or outside their `vocab`.
            ///
            /// # Errors
            /// As [`vector`](Self::vector).
            pub async fn vector_with_report(
                store: &#krate::Store,
                id: impl #krate::EntityId,
            ) -> #krate::Result<(Self, #krate::Report)> {
                #krate::__private::vector_with_report::<Self>(store, id).await
            }

            /// Reads the vectors of many entities in one pipeline (chunked when large); one
            /// result per id, in input order.
            ///
            /// # Errors
            /// As [`vector`](Self::vector), for the first entity that fails.
            pub async fn vector_batch<I>(
                store: &#krate::Store,
                ids: I,
            ) -> #krate::Result<::std::vec::Vec<Self>>
            where
                I: ::core::iter::IntoIterator,
                I::Item: #krate::EntityId,
            {
                #krate::__private::vector_batch::<Self, I>(store, ids).await
            }

            /// [`vector_batch`](Self::vector_batch), plus per-field counts of the values that
            /// were stored, defaulted, null, stale or outside their `vocab`.
            ///
            /// # Errors
            /// As [`vector`](Self::vector), for the first entity that fails.
            pub async fn vector_batch_with_report<I>(
                store: &#krate::Store,
                ids: I,
            ) -> #krate::Result<(::std::vec::Vec<Self>, #krate::BatchReport)>
            where
                I: ::core::iter::IntoIterator,
                I::Item: #krate::EntityId,
            {
                #krate::__private::vector_batch_with_report::<Self, I>(store, ids).await
            }
        }
    }
}

/// The key struct of a multi-entity vector (`{Vector}Key`, one field per entity, in key order)
/// and the read methods that take it.
fn keyed_items(ident: &Ident, krate: &TokenStream, keys: &[String]) -> TokenStream {
    let key_ident = format_ident!("{}Key", ident.unraw());
    let fields: Vec<Ident> = keys
        .iter()
        .map(|k| {
            syn::parse_str::<Ident>(k).unwrap_or_else(|_| Ident::new_raw(k, Span::call_site()))
        })
        .collect();
    let params: Vec<Ident> = (0..keys.len()).map(|i| format_ident!("K{}", i)).collect();
    let field_docs = keys
        .iter()
        .map(|k| format!("The id of the `{k}` entity, which keys this vector's `{k}` views."));
    let struct_doc = format!(
        "The key of a [`{}`] vector: one id per entity ({}), each keying the views of its entity. \
         Named fields, so that one entity's id cannot be passed as another's.",
        ident.unraw(),
        keys.iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let key_ty = quote!(#key_ident<#(#params),*>);
    let impl_params = quote!(#(#params: #krate::EntityId),*);
    let apit = params.iter().map(|_| quote!(impl #krate::EntityId));
    let apit_ty = quote!(#key_ident<#(#apit),*>);
    quote! {
        #[doc = #struct_doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct #key_ident<#(#params),*> {
            #(
                #[doc = #field_docs]
                pub #fields: #params,
            )*
        }

        #[automatically_derived]
        impl<#impl_params> #krate::__private::VectorKey for #key_ty {
            fn push_ids(&self, out: &mut ::std::vec::Vec<::std::string::String>) {
                #(
                    let mut id = ::std::string::String::new();
                    #krate::EntityId::write_id(&self.#fields, &mut id);
                    out.push(id);
                )*
            }
        }

        #[automatically_derived]
        #[allow(dead_code)]
        impl #ident {
            /// Reads the vector of one key: one `HMGET` per view, each keyed by the id of its
            /// view's entity, all in one pipeline.
            ///
            /// # Errors
            /// `Error::MissingFeature` for a required feature with no value (or a stale row) and
            /// no default; `Error::Decode`; `Error::InvalidEntityId`; transport errors.
            pub async fn vector(
                store: &#krate::Store,
                key: #apit_ty,
            ) -> #krate::Result<Self> {
                let (value, _) =
                    #krate::__private::vector_keyed::<Self, _>(store, key, false).await?;
                ::core::result::Result::Ok(value)
            }

            /// [`vector`](Self::vector), plus a report of which fields were stored, defaulted,
            /// stale or outside their `vocab`.
            ///
            /// # Errors
            /// As [`vector`](Self::vector).
            pub async fn vector_with_report(
                store: &#krate::Store,
                key: #apit_ty,
            ) -> #krate::Result<(Self, #krate::Report)> {
                #krate::__private::vector_keyed::<Self, _>(store, key, true).await
            }

            /// Reads the vectors of many keys in one pipeline (chunked when large), one result
            /// per key, in input order. A row that several keys share is read once per
            /// pipeline: one user with 100 candidate items reads the user's views once and each
            /// item's views once, in one round trip.
            ///
            /// # Errors
            /// As [`vector`](Self::vector), for the first key that fails.
            pub async fn vector_batch<I, #impl_params>(
                store: &#krate::Store,
                keys: I,
            ) -> #krate::Result<::std::vec::Vec<Self>>
            where
                I: ::core::iter::IntoIterator<Item = #key_ty>,
            {
                #krate::__private::vector_batch_keyed::<Self, I>(store, keys, ::core::option::Option::None).await
            }

            /// [`vector_batch`](Self::vector_batch), plus per-field counts of the values that
            /// were stored, defaulted, null, stale or outside their `vocab`.
            ///
            /// # Errors
            /// As [`vector`](Self::vector), for the first key that fails.
            pub async fn vector_batch_with_report<I, #impl_params>(
                store: &#krate::Store,
                keys: I,
            ) -> #krate::Result<(::std::vec::Vec<Self>, #krate::BatchReport)>
            where
                I: ::core::iter::IntoIterator<Item = #key_ty>,
            {
                let mut report = #krate::BatchReport::default();
                let rows = #krate::__private::vector_batch_keyed::<Self, I>(
                    store,
                    keys,
                    ::core::option::Option::Some(&mut report),
                )
                .await?;
                ::core::result::Result::Ok((rows, report))
            }
        }
    }
}

/// `WIDTH`, `COLUMNS` and the model-input methods, the same for every vector.
fn model_items(
    ident: &Ident,
    krate: &TokenStream,
    width: usize,
    columns: &[String],
) -> TokenStream {
    let width_lit = Literal::usize_unsuffixed(width);
    let width_doc = format!(
        "The number of `f32` columns of the model input: {width}. Equal to `COLUMNS.len()`."
    );
    let columns_doc = if columns.is_empty() {
        "The model input's column names: none.".to_owned()
    } else {
        format!(
            "The model input's column names, in order: `{}`.",
            columns.join("`, `")
        )
    };
    quote! {
        #[automatically_derived]
        #[allow(dead_code)]
        impl #ident {
            #[doc = #width_doc]
            pub const WIDTH: ::core::primitive::usize = #width_lit;

            #[doc = #columns_doc]
            ///
            /// `view__feature` for a number, a bool or an index-encoded string (and
            /// `aggregation__feature` for a feature of a real-time aggregation);
            /// `view__feature=entry` for each entry of a one-hot string; `view__feature[i]` for
            /// each element of a list. Skipped fields have none.
            pub const COLUMNS: [&'static ::core::primitive::str; #width_lit] = [#(#columns),*];

            /// The model input: [`WIDTH`](Self::WIDTH) columns, named by
            /// [`COLUMNS`](Self::COLUMNS).
            pub fn to_array(&self) -> [::core::primitive::f32; #width_lit] {
                let mut out = [0.0; #width_lit];
                <Self as #krate::FeatureVector>::write_f32(self, &mut out);
                out
            }

            /// Writes the model input into `out[..WIDTH]`.
            ///
            /// # Panics
            /// When `out` is shorter than [`WIDTH`](Self::WIDTH).
            pub fn write_f32(&self, out: &mut [::core::primitive::f32]) {
                <Self as #krate::FeatureVector>::write_f32(self, out);
            }

            /// The row-major model input of `rows`: `rows.len() × WIDTH` values.
            pub fn to_matrix(rows: &[Self]) -> ::std::vec::Vec<::core::primitive::f32> {
                #krate::__private::to_matrix::<Self>(rows)
            }
        }
    }
}
