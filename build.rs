//! Exports the ABI version from Cargo.toml to the code and regenerates
//! `include/copilot.h` with cbindgen (the header is committed; CI fails on drift).

use std::env;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml"))
        .expect("read Cargo.toml")
        .parse()
        .expect("parse Cargo.toml");
    let abi = manifest["package"]["metadata"]["copilot"]["abi-version"]
        .as_integer()
        .expect("[package.metadata.copilot] abi-version must be an integer");
    println!("cargo:rustc-env=COPILOT_ABI_VERSION={abi}");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src/ffi");

    let mut config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    config.after_includes = Some(format!(
        "{}\n/** The ABI version this header describes; compare with copilot_abi_version(). */\n#define COPILOT_ABI_VERSION {abi}\n",
        config.after_includes.unwrap_or_default()
    ));
    match cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => {
            bindings.write_to_file(dir.join("include/copilot.h"));
        }
        Err(e) => {
            // A syntax error is reported by rustc with better context; do not mask it.
            println!("cargo:warning=cbindgen could not generate include/copilot.h: {e}");
        }
    }
}
