//! Code generation for `#[derive(FeatureVector)]`.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{DeriveInput, Ident};

use crate::ast::{Scalar, Vector};
use crate::check_vector::{check, CheckedVector, Column};
use crate::ctxt::Ctxt;
use crate::expand::{attribute_default, registry_default_tokens};

/// Expands `#[derive(FeatureVector)]` on `input`.
pub fn derive_feature_vector(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let vector = Vector::from_ast(&mut cx, input);
    let checked = vector.as_ref().and_then(|v| check(&mut cx, v));
    match (cx.check(), vector, checked) {
        (Ok(()), Some(vector), Some(checked)) => expand(&vector, &checked),
        (Err(errors), _, _) => fallback(input, errors),
        // Unreachable in practice: a `None` always comes with an error.
        (Ok(()), _, _) => fallback(input, TokenStream::new()),
    }
}

fn expand(vector: &Vector<'_>, checked: &CheckedVector) -> TokenStream {
    let ident = vector.ident;
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
        quote! {
            ::fstore::__private::VectorView {
                name: #name,
                key_prefix: #key_prefix,
                read_fields: &[#(#read_fields),*],
                max_age_ms: #max_age_ms,
            }
        }
    });

    let decode_fields = vector
        .fields
        .iter()
        .zip(&checked.fields)
        .map(|(field, spec)| {
            let f = field.ident;
            let ty = field.ty;
            let view = Literal::usize_unsuffixed(spec.view);
            // `_updated_at` is last, so a feature's position in the row is its position in the view.
            let index = Literal::usize_unsuffixed(spec.feature_index);
            let rows = quote!(::fstore::__private::VectorRows);
            let is_list = field.kind.is_some_and(|k| k.scalar == Scalar::FloatList);
            if let (true, Some(len)) = (is_list, spec.len) {
                let len = Literal::usize_unsuffixed(len);
                return quote_spanned! {ty.span()=>
                    #f: #rows::get_list::<#ty>(rows, #view, #index, #len)?
                };
            }
            let default = match (&field.attrs.default, &spec.registry_default) {
                (Some(default), _) => Some(attribute_default(field, default)),
                (None, Some(default)) => Some(registry_default_tokens(field, default)),
                (None, None) => None,
            };
            let default = match default {
                Some(default) => quote_spanned! {ty.span()=>
                    ::core::option::Option::Some::<fn() -> #ty>(|| #default)
                },
                None => quote!(::core::option::Option::None),
            };
            quote_spanned! {ty.span()=>
                #f: #rows::get::<#ty>(rows, #view, #index, #default)?
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
        let private = quote!(::fstore::__private);
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
        columns.extend(
            spec.column
                .names(&checked.views[spec.view].name, &spec.feature),
        );
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
        impl ::fstore::FeatureVector for #ident {
            const VIEWS: &'static [::fstore::__private::VectorView] = &[#(#views),*];
            const WIDTH: ::core::primitive::usize = #width_lit;

            fn decode(
                rows: &mut ::fstore::__private::VectorRows<'_>,
            ) -> ::fstore::Result<Self> {
                ::core::result::Result::Ok(Self { #(#decode_fields,)* })
            }

            #write_f32
        }
    };
    let inherent = inherent_items(ident, width, &columns);
    // Reading the registry through `include_bytes!` makes cargo rebuild when it changes.
    let rebuild = checked.registry_path.as_ref().map(|path| {
        quote! {
            const _: &[u8] = ::core::include_bytes!(#path);
        }
    });
    quote! {
        #trait_impl
        #inherent
        #rebuild
    }
}

/// `WIDTH`, `COLUMNS` and the typed methods; they forward to `fstore::vector` and the trait.
fn inherent_items(ident: &Ident, width: usize, columns: &[String]) -> TokenStream {
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
            /// `view__feature` for a number, a bool or an index-encoded string;
            /// `view__feature=entry` for each entry of a one-hot string; `view__feature[i]` for
            /// each element of a list. Skipped fields have none.
            pub const COLUMNS: [&'static ::core::primitive::str; #width_lit] = [#(#columns),*];

            /// Reads the vector of entity `id`: one `HMGET` per view, all in one pipeline.
            ///
            /// # Errors
            /// `Error::MissingFeature` for a required feature with no value (or a stale row) and
            /// no default; `Error::Decode`; `Error::InvalidEntityId`; transport errors.
            pub async fn vector(
                store: &::fstore::Store,
                id: impl ::fstore::EntityId,
            ) -> ::fstore::Result<Self> {
                ::fstore::vector::vector::<Self>(store, id).await
            }

            /// [`vector`](Self::vector), plus a report of which fields were stored, defaulted or
            /// stale.
            ///
            /// # Errors
            /// As [`vector`](Self::vector).
            pub async fn vector_with_report(
                store: &::fstore::Store,
                id: impl ::fstore::EntityId,
            ) -> ::fstore::Result<(Self, ::fstore::Report)> {
                ::fstore::vector::vector_with_report::<Self>(store, id).await
            }

            /// Reads the vectors of many entities in one pipeline (chunked when large); one
            /// result per id, in input order.
            ///
            /// # Errors
            /// As [`vector`](Self::vector), for the first entity that fails.
            pub async fn vector_batch<I>(
                store: &::fstore::Store,
                ids: I,
            ) -> ::fstore::Result<::std::vec::Vec<Self>>
            where
                I: ::core::iter::IntoIterator,
                I::Item: ::fstore::EntityId,
            {
                ::fstore::vector::vector_batch::<Self, I>(store, ids).await
            }

            /// The model input: [`WIDTH`](Self::WIDTH) columns, named by
            /// [`COLUMNS`](Self::COLUMNS).
            pub fn to_array(&self) -> [::core::primitive::f32; #width_lit] {
                let mut out = [0.0; #width_lit];
                <Self as ::fstore::FeatureVector>::write_f32(self, &mut out);
                out
            }

            /// Writes the model input into `out[..WIDTH]`.
            ///
            /// # Panics
            /// When `out` is shorter than [`WIDTH`](Self::WIDTH).
            pub fn write_f32(&self, out: &mut [::core::primitive::f32]) {
                <Self as ::fstore::FeatureVector>::write_f32(self, out);
            }

            /// The row-major model input of `rows`: `rows.len() × WIDTH` values.
            pub fn to_matrix(rows: &[Self]) -> ::std::vec::Vec<::core::primitive::f32> {
                ::fstore::vector::to_matrix::<Self>(rows)
            }
        }
    }
}

/// On error: the errors, plus a stub impl and the methods, so that the user sees the real errors
/// and not a cascade of "no function `vector`" at every call site.
fn fallback(input: &DeriveInput, errors: TokenStream) -> TokenStream {
    let ident = &input.ident;
    if !input.generics.params.is_empty() {
        return errors;
    }
    let inherent = inherent_items(ident, 0, &[]);
    quote! {
        #errors
        #[automatically_derived]
        impl ::fstore::FeatureVector for #ident {
            const VIEWS: &'static [::fstore::__private::VectorView] = &[];
            const WIDTH: ::core::primitive::usize = 0;

            fn decode(_: &mut ::fstore::__private::VectorRows<'_>) -> ::fstore::Result<Self> {
                ::core::unreachable!()
            }

            fn write_f32(&self, _: &mut [::core::primitive::f32]) {}
        }
        #inherent
    }
}

#[cfg(test)]
mod tests {
    use super::derive_feature_vector;

    fn expand(input: &str) -> String {
        derive_feature_vector(&syn::parse_str(input).unwrap()).to_string()
    }

    #[test]
    fn expands_views_columns_and_decoding() {
        let out = expand(
            r#"struct Inputs {
                #[fstore(view = "a", vocab = ["x", "y"])] s: String,
                #[fstore(view = "b", default = 1)] n: i64,
                #[fstore(view = "a", len = 2)] e: Vec<f32>,
            }"#,
        );
        assert!(out.contains(r#"key_prefix : "fs:v1:a:""#), "{out}");
        assert!(
            out.contains(r#"read_fields : & ["s" , "e" , "_updated_at"]"#),
            "{out}"
        );
        assert!(
            out.contains("const WIDTH : :: core :: primitive :: usize = 5"),
            "{out}"
        );
        assert!(
            out.contains(r#"["a__s=x" , "a__s=y" , "b__n" , "a__e[0]" , "a__e[1]"]"#),
            "{out}"
        );
        assert!(
            out.contains("get_list :: < Vec < f32 > > (rows , 0 , 1 , 2)"),
            "{out}"
        );
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn every_error_at_once_beside_a_stub() {
        let out = expand(
            r#"struct Inputs {
                #[fstore(view = "a")] s: String,
                n: i64,
                #[fstore(view = "a", vocab = ["x"])] m: f64,
            }"#,
        );
        assert_eq!(out.matches("compile_error").count(), 3, "{out}");
        assert!(
            out.contains("impl :: fstore :: FeatureVector for Inputs"),
            "{out}"
        );
        assert!(out.contains("pub async fn vector"), "{out}");
    }
}
