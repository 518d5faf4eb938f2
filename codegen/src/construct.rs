//! Constructing rows so that adding a feature with a default breaks no writer: the builder of
//! each view (`UserProfile::builder()…build()`, whose `build` exists only once every required
//! feature is set) and, where every feature has a default or is optional, `Default`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use fstore_registry::{DefaultValue, Feature, FeatureType};

use super::{
    default_tokens, docs as doc_attrs, field_ident, field_type, scalar_type, wrap, TypePaths,
};

/// One field of a view's struct, as its builder sees it.
pub struct Member {
    ident: Ident,
    /// The setter's name: the field's, except for a feature named `build`, which would take the
    /// name of the method that ends the builder (`set_build`).
    setter: Ident,
    /// The field's type.
    ty: TokenStream,
    /// The type the setter takes: the field's (the value inside the `Option` for an optional
    /// feature), as `impl Into<String>` for a string.
    arg: TokenStream,
    /// `arg` is an `impl Into<…>`.
    into: bool,
    start: Start,
}

/// What a field holds before its setter is called.
enum Start {
    /// Nothing: `build` needs it.
    Required,
    /// The registry's default, as an expression of the field's type.
    Default(TokenStream),
    /// `None`.
    Optional,
}

impl Member {
    pub fn new(feature: &Feature, paths: TypePaths) -> Member {
        let ident = field_ident(feature);
        let setter = if feature.name == "build" {
            Ident::new("set_build", Span::call_site())
        } else {
            ident.clone()
        };
        let scalar = scalar_type(feature.ty, paths);
        let into = feature.ty == FeatureType::String;
        let arg = if into {
            quote!(impl ::core::convert::Into<#scalar>)
        } else {
            scalar
        };
        let start = match (&feature.default, feature.optional) {
            (Some(value), _) => Start::Default(default_expr(value)),
            (None, true) => Start::Optional,
            (None, false) => Start::Required,
        };
        Member {
            ident,
            setter,
            ty: field_type(feature, paths),
            arg,
            into,
            start,
        }
    }

    fn required(&self) -> bool {
        matches!(self.start, Start::Required)
    }
}

/// A registry default as an expression of its field's type (`f64::NAN` by its full path, a
/// string as a `String`).
fn default_expr(value: &DefaultValue) -> TokenStream {
    match value {
        DefaultValue::Float(x) if x.is_nan() => quote!(::core::primitive::f64::NAN),
        DefaultValue::Float(x) if x.is_infinite() && *x > 0.0 => {
            quote!(::core::primitive::f64::INFINITY)
        }
        DefaultValue::Float(x) if x.is_infinite() => quote!(::core::primitive::f64::NEG_INFINITY),
        DefaultValue::String(s) => quote!(::std::string::String::from(#s)),
        other => default_tokens(other),
    }
}

/// The paragraph of the struct's docs on how to construct it.
pub fn docs(ident: &Ident, members: &[Member]) -> String {
    let required: Vec<String> = members
        .iter()
        .filter(|m| m.required())
        .map(|m| format!("`{}`", m.setter))
        .collect();
    let needs = if required.is_empty() {
        "needs no feature: each starts at its registry default or `None`".to_owned()
    } else {
        format!(
            "needs the required features ({}) and compiles only once each is set; the others \
             start at their registry default or `None`",
            required.join(", ")
        )
    };
    let mut text = wrap(&format!(
        "Build rows with [`{ident}::builder`]: one setter per feature, and `build()` {needs}. \
         Rows built this way keep compiling when a feature with a default, or an optional one, \
         is added to the registry; a struct literal does not."
    ));
    if required.is_empty() {
        text.push_str("\n\n");
        text.push_str(&wrap(
            "Every feature has a default or is optional, so this struct implements `Default` \
             with the registry's defaults (`None` for the optional ones), and \
             `..Default::default()` completes a struct literal.",
        ));
    }
    text
}

/// `builder()`, the builder struct with its setters and `build()`, and `Default` when no
/// feature is required.
pub fn items(ident: &Ident, members: &[Member]) -> TokenStream {
    let builder = format_ident!("{}Builder", ident);
    // One type parameter per required feature: `()` until it is set, then the field's type.
    let mut count = 0usize;
    let params: Vec<Option<Ident>> = members
        .iter()
        .map(|m| {
            m.required().then(|| {
                count += 1;
                format_ident!("__F{}", count)
            })
        })
        .collect();
    let declared: Vec<&Ident> = params.iter().flatten().collect();
    let generics = |args: &[TokenStream]| {
        if args.is_empty() {
            TokenStream::new()
        } else {
            quote!(<#(#args),*>)
        }
    };
    let all_params = generics(&declared.iter().map(|p| quote!(#p)).collect::<Vec<_>>());
    let unset = generics(&declared.iter().map(|p| quote!(#p = ())).collect::<Vec<_>>());
    let storage = members.iter().zip(&params).map(|(m, param)| {
        let f = &m.ident;
        match param {
            Some(p) => quote!(#f: #p,),
            None => {
                let ty = &m.ty;
                quote!(#f: #ty,)
            }
        }
    });
    let starts = members.iter().map(|m| {
        let f = &m.ident;
        match &m.start {
            Start::Required => quote!(#f: (),),
            Start::Default(value) => quote!(#f: #value,),
            Start::Optional => quote!(#f: ::core::option::Option::None,),
        }
    });
    let convert = |m: &Member| {
        if m.into {
            quote!(::core::convert::Into::into(value))
        } else {
            quote!(value)
        }
    };

    // A required feature's setter moves every field into the builder whose parameter for it is
    // the field's type.
    let required_setters = members.iter().zip(&params).filter_map(|(m, param)| {
        let param = param.as_ref()?;
        let (f, setter, arg, ty) = (&m.ident, &m.setter, &m.arg, &m.ty);
        let others = generics(
            &declared
                .iter()
                .filter(|p| **p != param)
                .map(|p| quote!(#p))
                .collect::<Vec<_>>(),
        );
        let before = generics(
            &params
                .iter()
                .flatten()
                .map(|p| if p == param { quote!(()) } else { quote!(#p) })
                .collect::<Vec<_>>(),
        );
        let after = generics(
            &params
                .iter()
                .flatten()
                .map(|p| if p == param { quote!(#ty) } else { quote!(#p) })
                .collect::<Vec<_>>(),
        );
        let value = convert(m);
        let moved = members.iter().map(|other| {
            let o = &other.ident;
            if o == f {
                quote!(#o: #value,)
            } else {
                quote!(#o: self.#o,)
            }
        });
        let doc = format!(" Sets `{f}` (required).");
        Some(quote! {
            #[allow(dead_code, clippy::wrong_self_convention, clippy::should_implement_trait)]
            impl #others #builder #before {
                #[doc = #doc]
                pub fn #setter(self, value: #arg) -> #builder #after {
                    #builder { #(#moved)* }
                }
            }
        })
    });

    let other_setters: Vec<TokenStream> = members
        .iter()
        .filter(|m| !m.required())
        .map(|m| {
            let (f, setter, arg) = (&m.ident, &m.setter, &m.arg);
            let value = convert(m);
            let (doc, set) = match m.start {
                Start::Optional => (
                    format!(" Sets `{f}` (optional: `None` unless set)."),
                    quote!(::core::option::Option::Some(#value)),
                ),
                _ => (
                    format!(" Sets `{f}` (the registry's default unless set)."),
                    value,
                ),
            };
            quote! {
                #[doc = #doc]
                pub fn #setter(mut self, value: #arg) -> Self {
                    self.#f = #set;
                    self
                }
            }
        })
        .collect();
    let other_setters = (!other_setters.is_empty()).then(|| {
        quote! {
            #[allow(dead_code, clippy::wrong_self_convention, clippy::should_implement_trait)]
            impl #all_params #builder #all_params {
                #(#other_setters)*
            }
        }
    });

    let complete = generics(
        &members
            .iter()
            .filter(|m| m.required())
            .map(|m| m.ty.clone())
            .collect::<Vec<_>>(),
    );
    let fields: Vec<&Ident> = members.iter().map(|m| &m.ident).collect();
    let builder_doc = doc_attrs(&wrap(&format!(
        "A [`{ident}`] under construction, from [`{ident}::builder`]: call the setter of each \
         feature to set, then `build()`. Each type parameter is a required feature: `()` until \
         it is set."
    )));
    let build_doc = doc_attrs(&wrap(&format!(
        "The [`{ident}`]. It exists once every required feature is set: a missing one is a \
         compile error (no method `build` on a builder with a `()` parameter)."
    )));
    let default = declared.is_empty().then(|| {
        quote! {
            #[automatically_derived]
            impl ::core::default::Default for #ident {
                /// Every feature at its registry default, `None` for the optional ones.
                fn default() -> Self {
                    #ident::builder().build()
                }
            }
        }
    });
    quote! {
        #[allow(dead_code)]
        impl #ident {
            /// A builder of this struct: every feature with a default starts at it, every
            /// optional one at `None`; `build()` needs the required ones set.
            pub fn builder() -> #builder {
                #builder { #(#starts)* }
            }
        }

        #builder_doc
        #[must_use = "a builder does nothing until `build()` is called"]
        #[derive(::core::fmt::Debug, ::core::clone::Clone)]
        #[allow(dead_code)]
        pub struct #builder #unset {
            #(#storage)*
        }

        #(#required_setters)*

        #other_setters

        #[allow(dead_code)]
        impl #builder #complete {
            #build_doc
            pub fn build(self) -> #ident {
                #ident { #(#fields: self.#fields,)* }
            }
        }

        #default
    }
}
