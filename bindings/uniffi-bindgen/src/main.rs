//! `uniffi-bindgen`, built from the same uniffi release as `insikt-ffi`. Run it
//! through `scripts/bindgen.sh`, which builds the library and writes the Kotlin and
//! Swift bindings from it.

fn main() {
    uniffi::uniffi_bindgen_main()
}
