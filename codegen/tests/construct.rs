//! How generated rows are constructed: a builder whose `build()` needs the required features,
//! `Default` only where every feature has a default or is optional, and the options of
//! `generate_with` (extra derives, the crate path).

use fstore_codegen::{generate, generate_with, Options};
use fstore_registry::Registry;

fn registry(features: &str) -> Registry {
    let source = format!(
        "[entities.user]\n[views.v]\nentity = \"user\"\nttl = \"1h\"\n\
         [views.v.features]\n{features}"
    );
    Registry::parse(&source, "test.toml").unwrap()
}

fn code_of(features: &str) -> String {
    generate(&registry(features)).to_string()
}

#[test]
fn the_builder_has_one_type_parameter_per_required_feature() {
    let code = code_of(
        "a = \"int\"\nb = { type = \"string\", default = \"x\" }\nc = \"string\"\n\
         d = { type = \"bool\", optional = true }\n",
    );
    assert!(
        code.contains("pub struct VBuilder < __F1 = () , __F2 = () > { a : __F1 , b : String , c : __F2 , d : Option < bool > , }"),
        "{code}"
    );
    assert!(
        code.contains("pub fn builder () -> VBuilder { VBuilder { a : () , b : :: std :: string :: String :: from (\"x\") , c : () , d : :: core :: option :: Option :: None , } }"),
        "{code}"
    );
    // `build` exists once `a` and `c` are set.
    assert!(code.contains("impl VBuilder < i64 , String > {"), "{code}");
    assert!(
        code.contains("pub fn c (self , value : impl :: core :: convert :: Into < String >) -> VBuilder < __F1 , String >"),
        "{code}"
    );
    assert!(
        code.contains("pub fn d (mut self , value : bool) -> Self { self . d = :: core :: option :: Option :: Some (value) ; self }"),
        "{code}"
    );
    assert!(!code.contains("Default for V"), "{code}");
}

#[test]
fn default_exists_when_every_feature_has_a_default_or_is_optional() {
    let code = code_of(
        "n = { type = \"int\", default = -3 }\nx = { type = \"float\", default = nan }\n\
         s = { type = \"string\", optional = true }\n",
    );
    assert!(
        code.contains("impl :: core :: default :: Default for V"),
        "{code}"
    );
    assert!(
        code.contains("n : - 3 , x : :: core :: primitive :: f64 :: NAN ,"),
        "{code}"
    );
    assert!(code.contains("implements `Default`"), "{code}");
    assert!(code.contains("pub struct VBuilder {"), "{code}");
}

#[test]
fn a_feature_named_build_gets_a_set_build_setter() {
    let code = code_of("build = \"int\"\n");
    assert!(
        code.contains("pub fn set_build (self , value : i64)"),
        "{code}"
    );
    assert!(code.contains("pub fn build (self) -> V"), "{code}");
}

#[test]
fn options_add_derives_and_name_the_crate() {
    let mut options = Options::default();
    options.derives = vec![quote::quote!(serde::Serialize)];
    options.crate_path = Some(quote::quote!(crate::reexport));
    let code = generate_with(&registry("a = \"int\"\n"), &options).to_string();
    assert!(
        code.contains(
            "# [derive (crate :: reexport :: FeatureView , Debug , Clone , PartialEq , serde :: Serialize)] \
             # [feature_view (crate = \"crate::reexport\" , name = \"v\""
        ),
        "{code}"
    );
}
