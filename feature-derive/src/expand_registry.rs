//! `fstore::registry!("features.toml", derive(...), crate = ...)`: one struct per view of the
//! registry and two per aggregation (its event and its features), from the one code generator
//! (`fstore-codegen`).

use proc_macro2::TokenStream;
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::{LitStr, Path, Token};

use crate::attr;
use crate::ctxt::Ctxt;
use crate::registry;

/// The derives every generated struct has already (the aggregation structs all but
/// `FeatureView`); given again, they are left out.
const BUILT_IN: [&str; 4] = ["FeatureView", "Debug", "Clone", "PartialEq"];

/// What `registry!` was given.
struct Args {
    path: LitStr,
    /// `derive(serde::Serialize, ...)`: the extra derives, without duplicates.
    derives: Vec<Path>,
    /// `crate = my_fstore`.
    krate: Option<Path>,
}

/// Expands `registry!(<path>, <options>)`: the structs `fstore codegen` prints, plus an
/// `include_bytes!` of the file so that cargo rebuilds when it changes.
pub fn registry_macro(input: TokenStream) -> TokenStream {
    let mut cx = Ctxt::default();
    let args = match (|stream: ParseStream| parse_args(&mut cx, stream)).parse2(input) {
        Ok(args) => args,
        Err(e) => {
            cx.push(e);
            return cx.check().err().unwrap_or_default();
        }
    };
    let loaded = registry::load(&mut cx, &args.path);
    if let Err(errors) = cx.check() {
        return errors;
    }
    let Some(loaded) = loaded else {
        return TokenStream::new();
    };
    let mut options = fstore_codegen::Options::default();
    options.crate_path = args.krate.map(|path| quote!(#path));
    options.derives = args.derives.iter().map(|path| quote!(#path)).collect();
    let structs = fstore_codegen::generate_with(&loaded.registry, &options);
    let rebuild = registry::rebuild_on_change(&loaded.absolute);
    quote! {
        #structs
        #rebuild
    }
}

/// `"features.toml"`, then optionally `, derive(A, B)` and `, crate = path`, in any order.
fn parse_args(cx: &mut Ctxt, input: ParseStream) -> syn::Result<Args> {
    let path: LitStr = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected the registry's path as a string literal, relative to the crate's \
             Cargo.toml: `fstore::registry!(\"features.toml\");`",
        )
    })?;
    let mut args = Args {
        path,
        derives: Vec::new(),
        krate: None,
    };
    if input.is_empty() {
        return Ok(args);
    }
    input.parse::<Token![,]>()?;
    let mut derive_given = false;
    let options = syn::meta::parser(
        |meta| match meta.path.get_ident().map(ToString::to_string) {
            Some(key) if key == "derive" => {
                if derive_given {
                    cx.error_spanned_by(
                        &meta.path,
                        "duplicate `derive` in `registry!`; give it once",
                    );
                }
                derive_given = true;
                derives(cx, &meta, &mut args.derives)
            }
            Some(key) if key == "crate" => attr::set_crate(cx, &meta, "registry!", &mut args.krate),
            _ => {
                let key = meta
                    .path
                    .get_ident()
                    .map_or_else(|| "?".to_owned(), ToString::to_string);
                Err(meta.error(format!(
                    "unknown `registry!` option `{key}`; expected `derive(...)` (derives added to \
                 every struct) or `crate = path` (the path fstore is named by)"
                )))
            }
        },
    );
    options.parse2(input.parse()?)?;
    Ok(args)
}

/// `derive(serde::Serialize, Eq)`: each path once, leaving out the built-in derives; `Default`
/// is an error, since the generator implements it itself.
fn derives(cx: &mut Ctxt, meta: &ParseNestedMeta, out: &mut Vec<Path>) -> syn::Result<()> {
    meta.parse_nested_meta(|inner| {
        let path = inner.path;
        let last = path.segments.last().map(|s| s.ident.to_string());
        match last.as_deref() {
            Some("Default") => cx.error_spanned_by(
                &path,
                "`registry!` implements `Default` itself, with the registry's defaults, for every \
                 view whose features all have a default or are optional; remove `Default`",
            ),
            Some(name) if BUILT_IN.contains(&name) => {}
            _ if out.iter().any(|seen| same_path(seen, &path)) => {}
            _ => out.push(path),
        }
        Ok(())
    })
}

/// Whether `a` and `b` are written alike (`serde::Serialize` twice).
fn same_path(a: &Path, b: &Path) -> bool {
    quote!(#a).to_string() == quote!(#b).to_string()
}
