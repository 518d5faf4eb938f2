//! The pipeline of both derives: parse the input once ([`Input`]), check it (`check_view`,
//! `check_vector`), expand it by kind (`expand_view`, `expand_vector`); on any error, the one
//! [`fallback`].

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::ast::Input;
use crate::attr::Derive;
use crate::ctxt::Ctxt;
use crate::{check_vector, check_view, expand_vector, expand_view, fallback};

/// Expands `#[derive(FeatureView)]` or `#[derive(FeatureVector)]` on `input`.
pub fn derive(input: &DeriveInput, derive: Derive) -> TokenStream {
    try_expand(input, derive).unwrap_or_else(|errors| fallback::expand(input, derive, errors))
}

/// The expansion, or every error found as `compile_error!` tokens. Only an input without errors
/// is expanded.
fn try_expand(input: &DeriveInput, derive: Derive) -> Result<TokenStream, TokenStream> {
    let mut cx = Ctxt::default();
    let expanded = match Input::from_syn(&mut cx, input, derive) {
        Some(Input::View(view)) => check_view::check(&mut cx, &view)
            .filter(|_| !cx.has_errors())
            .map(|checked| expand_view::expand(&view, &checked)),
        Some(Input::Vector(vector)) => check_vector::check(&mut cx, &vector)
            .filter(|_| !cx.has_errors())
            .map(|checked| expand_vector::expand(&vector, &checked)),
        None => None,
    };
    cx.check()?;
    // Every step that gives up records why: without errors, nothing gave up.
    expanded.ok_or_else(TokenStream::new)
}

#[cfg(test)]
mod tests {
    use super::derive;
    use crate::attr::Derive;

    fn expand(input: &str, kind: Derive) -> String {
        derive(&syn::parse_str(input).unwrap(), kind).to_string()
    }

    /// Asserts that `out` calls each of `ops` through the facade, and nothing in
    /// `::fstore::ops` or `::fstore::vector`.
    fn assert_calls_through_facade(out: &str, ops: &[&str]) {
        for op in ops {
            assert!(
                out.contains(&format!(":: fstore :: __private :: {op} :: < Self")),
                "no `{op}` in {out}"
            );
        }
        assert!(!out.contains(":: fstore :: ops"), "{out}");
        assert!(!out.contains(":: fstore :: vector ::"), "{out}");
    }

    #[test]
    fn views_call_the_typed_operations_through_the_facade() {
        let out = expand(
            r#"#[feature_view(name = "user_profile", ttl = "1h")]
            struct UserProfile {
                age: i64,
                #[fstore(default = 0.5)] score: f32,
            }"#,
            Derive::View,
        );
        assert_calls_through_facade(&out, &["read", "read_batch", "write", "write_batch", "ttl"]);
        assert!(
            out.contains(r#"const KEY_PREFIX : & 'static str = "fs:v1:user_profile:""#),
            "{out}"
        );
        assert!(
            out.contains("score : row . get_or_else :: < f32 > (1usize , || 0.5) ?"),
            "{out}"
        );
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn view_lists_are_read_and_written_with_their_declaration() {
        let out = expand(
            r#"#[feature_view(name = "item", ttl = "1h")]
            struct Item {
                #[fstore(len = 8, encoding = "f32le")] e: Vec<f32>,
                o: Option<Vec<f32>>,
            }"#,
            Derive::View,
        );
        let f32le = "ListSpec :: declared (:: core :: option :: Option :: Some (8) , :: fstore :: \
                     __private :: ListEncoding :: F32Le , \"Vec<f32> (float_list, len 8, f32le)\")";
        let json = "ListSpec :: declared (:: core :: option :: Option :: None , :: fstore :: \
                    __private :: ListEncoding :: Json , \"Vec<f32> (float_list, json)\")";
        assert!(
            out.contains(&format!(
                "e : row . get_list :: < Vec < f32 > > (0usize , & :: fstore :: __private :: {f32le}) ?"
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "out . put (\"e\" , & :: fstore :: __private :: ListValue :: new (& self . e , \
                 :: fstore :: __private :: {f32le}))"
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "o : row . get_list :: < Option < Vec < f32 > > > (1usize , & :: fstore :: __private :: {json}) ?"
            )),
            "{out}"
        );
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn a_view_with_errors_gets_every_error_beside_a_stub() {
        let out = expand(
            "struct UserProfile { age: u8, #[fstore(default = \"x\")] n: i64 }",
            Derive::View,
        );
        // No `name`, no `ttl`, an unsupported type, a default of the wrong type.
        assert_eq!(out.matches("compile_error").count(), 4, "{out}");
        assert!(
            out.contains("impl :: fstore :: FeatureView for UserProfile"),
            "{out}"
        );
        assert!(out.contains(r#"const VIEW : & 'static str = """#), "{out}");
        assert!(out.contains("pub async fn read_batch"), "{out}");
    }

    #[test]
    fn a_generic_struct_gets_its_error_alone() {
        for kind in [Derive::View, Derive::Vector] {
            let out = expand("struct Generic<T> { x: T }", kind);
            assert_eq!(out.matches("compile_error").count(), 1, "{out}");
            assert!(!out.contains("impl"), "{out}");
        }
    }

    #[test]
    fn vectors_expand_views_columns_and_decoding() {
        let out = expand(
            r#"struct Inputs {
                #[fstore(view = "a", vocab = ["x", "y"])] s: String,
                #[fstore(view = "b", default = 1)] n: i64,
                #[fstore(view = "a", len = 2)] e: Vec<f32>,
            }"#,
            Derive::Vector,
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
            out.contains(
                "get_list :: < Vec < f32 > > (rows , 0 , 1 , & :: fstore :: __private :: \
                 ListSpec :: declared (:: core :: option :: Option :: Some (2) , :: fstore :: \
                 __private :: ListEncoding :: Json , \"Vec<f32> (float_list, len 2, json)\"))"
            ),
            "{out}"
        );
        assert_calls_through_facade(
            &out,
            &["vector", "vector_with_report", "vector_batch", "to_matrix"],
        );
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn an_aggregation_field_needs_a_registry() {
        let out = expand(
            r#"struct Inputs {
                #[fstore(view = "a")] n: i64,
                #[fstore(aggregation = "user_txn", default = 1)] txn_count_1h: i64,
            }"#,
            Derive::Vector,
        );
        // No registry; a `default` that never applies.
        assert_eq!(out.matches("compile_error").count(), 2, "{out}");
        assert!(out.contains("`aggregation` needs a registry"), "{out}");
        assert!(!out.contains("AGGREGATIONS"), "{out}");
    }

    #[test]
    fn a_vector_with_errors_gets_every_error_beside_a_stub() {
        let out = expand(
            r#"struct Inputs {
                #[fstore(view = "a")] s: String,
                n: i64,
                #[fstore(view = "a", vocab = ["x"])] m: f64,
            }"#,
            Derive::Vector,
        );
        assert_eq!(out.matches("compile_error").count(), 3, "{out}");
        assert!(
            out.contains("impl :: fstore :: FeatureVector for Inputs"),
            "{out}"
        );
        assert!(out.contains("pub async fn vector"), "{out}");
    }
}
