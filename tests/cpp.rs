//! Builds the C++ tests against the freshly built libcopilot.so and runs them
//! against the real CLI: tests/cpp/copilot_test.cpp (include/copilot.hpp; also
//! run under ctest in tests/packaging, against the installed library) and
//! tests/cpp/replay_test.cpp (include/copilot_replay.hpp with the C++ layer, and
//! a copilot-replay binary of this checkout) and tests/cpp/typed_test.cpp (the
//! generated include/copilot_types.hpp, on nlohmann/json).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use common::TestEnv;

/// target/<profile>/deps, where `cargo test` builds the cdylib (see c_abi.rs).
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().to_path_buf()
}

/// `$COPILOT_REPLAY_PATH`, else target/<profile>/copilot-replay: this
/// package's tests do not build another package's binaries, so it is built
/// here when missing or older than replay/ (`cargo test --workspace` has
/// built it already; building it alone again would unify features anew and
/// rebuild half the dependency tree).
fn replay_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("COPILOT_REPLAY_PATH") {
        return PathBuf::from(p);
    }
    let profile_dir = lib_dir().parent().unwrap().to_path_buf();
    let binary = profile_dir.join("copilot-replay");
    let built = std::fs::metadata(&binary).and_then(|m| m.modified()).ok();
    let replay = common::repo_dir().join("replay");
    if built
        .is_some_and(|b| b >= newest(&replay.join("src")).max(newest(&replay.join("Cargo.toml"))))
    {
        return binary;
    }
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build.current_dir(common::repo_dir()).args([
        "build",
        "--quiet",
        "-p",
        "copilot-replay",
        "--bin",
        "copilot-replay",
    ]);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    assert!(
        build.status().expect("run cargo").success(),
        "building copilot-replay failed"
    );
    binary
}

/// The latest modification time of `path` or of any file below it.
fn newest(path: &Path) -> SystemTime {
    let own = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| newest(&e.path()))
        .fold(own, SystemTime::max)
}

fn compile_cpp(source: &str, out: &Path) {
    let root = common::repo_dir();
    let lib = lib_dir();
    assert!(
        lib.join("libcopilot.so").is_file(),
        "no libcopilot.so in {}",
        lib.display()
    );
    let status = Command::new(std::env::var("CXX").unwrap_or_else(|_| "c++".into()))
        .args([
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-pthread",
        ])
        .arg("-I")
        .arg(root.join("include"))
        .arg(root.join(source))
        .arg("-o")
        .arg(out)
        .arg(format!("-L{}", lib.display()))
        .arg("-lcopilot")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .status()
        .expect("run the C++ compiler");
    assert!(status.success(), "compiling {source} failed");
}

/// copilot_replay.hpp compiles on its own, without copilot.hpp or copilot.h.
#[test]
fn replay_header_compiles_standalone() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("solo.cpp");
    std::fs::write(&source, "#include <copilot_replay.hpp>\nint main() {}\n").unwrap();
    let status = Command::new(std::env::var("CXX").unwrap_or_else(|_| "c++".into()))
        .args([
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-fsyntax-only",
        ])
        .arg("-I")
        .arg(common::repo_dir().join("include"))
        .arg(&source)
        .status()
        .expect("run the C++ compiler");
    assert!(
        status.success(),
        "copilot_replay.hpp does not compile alone"
    );
}

#[test]
fn cpp_replay_helper_starts_stops_and_shows_what_the_model_was_sent() {
    let replay = replay_binary();
    let exe = lib_dir().join("replay_test");
    compile_cpp("tests/cpp/replay_test.cpp", &exe);
    // The isolated client environment; its own replay server goes unused.
    let env = TestEnv::new(&["weather_tool.yaml"]);
    let output = Command::new(&exe)
        .env("LD_LIBRARY_PATH", lib_dir())
        .env("COPILOT_TEST_OPTIONS", env.client_options_json())
        .env("COPILOT_CLI_PATH", common::cli_path())
        .env("COPILOT_REPLAY_PATH", &replay)
        .env("COPILOT_REPO", common::repo_dir())
        // The helper's temporary files (one is left by the parent-death case) go here.
        .env("TMPDIR", env.home_path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "replay_test failed:\n{stdout}");
    assert!(stdout.contains(", 0 failed"));
}

/// tests/cpp/copilot_test.cpp: the C++ layer (include/copilot.hpp) against the
/// real CLI, offline: the program's whole environment is the isolated one, and
/// its sessions' BYOK provider is copilot-replay (`COPILOT_PROVIDER_URL`).
#[test]
fn cpp_layer_drives_the_real_cli() {
    let exe = lib_dir().join("copilot_hpp_test");
    compile_cpp("tests/cpp/copilot_test.cpp", &exe);
    let env = TestEnv::new(&["weather_tool.yaml"]);
    let mut cmd = Command::new(&exe);
    cmd.env_clear();
    for (k, v) in env.child_env().as_object().unwrap() {
        cmd.env(k, v.as_str().unwrap());
    }
    let output = cmd
        .env("LD_LIBRARY_PATH", lib_dir())
        .env("COPILOT_CLI_PATH", common::cli_path())
        .env("COPILOT_PROVIDER_URL", env.replay.base_url())
        .current_dir(env.home_path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "copilot_test failed:\n{stdout}");
    assert!(stdout.contains(", 0 failed"), "{stdout}");
}

/// Whether `#include <nlohmann/json.hpp>` compiles: copilot_types.hpp needs it
/// (Debian's nlohmann-json3-dev; tests/support/ensure-tools.sh installs it).
fn have_nlohmann_json() -> bool {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe.cpp");
    std::fs::write(&probe, "#include <nlohmann/json.hpp>\nint main() {}\n").unwrap();
    Command::new(std::env::var("CXX").unwrap_or_else(|_| "c++".into()))
        .args(["-std=c++17", "-fsyntax-only"])
        .arg(&probe)
        .status()
        .is_ok_and(|s| s.success())
}

/// tests/cpp/typed_test.cpp: the generated typed layer (include/copilot_types.hpp)
/// against the real CLI, offline like cpp_layer_drives_the_real_cli: typed events
/// of a tool turn, typed RPC, raw fallbacks, and every event type of the pinned
/// schema (read from the CLI cache) decoding to its own struct. Skipped only where
/// nlohmann/json.hpp is missing, never under CI (which installs it).
#[test]
fn cpp_typed_layer_drives_the_real_cli() {
    if !have_nlohmann_json() {
        assert!(
            std::env::var_os("CI").is_none(),
            "nlohmann/json.hpp is missing under CI: tests/support/ensure-tools.sh installs nlohmann-json3-dev"
        );
        eprintln!(
            "cpp_typed_layer_drives_the_real_cli skipped: nlohmann/json.hpp not found \
             (install nlohmann-json3-dev, or run tests/support/ensure-tools.sh as root)"
        );
        return;
    }
    let exe = lib_dir().join("copilot_types_test");
    compile_cpp("tests/cpp/typed_test.cpp", &exe);
    let env = TestEnv::new(&["weather_tool.yaml"]);
    let mut cmd = Command::new(&exe);
    cmd.env_clear();
    for (k, v) in env.child_env().as_object().unwrap() {
        cmd.env(k, v.as_str().unwrap());
    }
    let output = cmd
        .env("LD_LIBRARY_PATH", lib_dir())
        .env("COPILOT_CLI_PATH", common::cli_path())
        .env("COPILOT_PROVIDER_URL", env.replay.base_url())
        .env("COPILOT_TEST_CACHE", common::shared_cache_dir())
        .env("COPILOT_REPO", common::repo_dir())
        .current_dir(env.home_path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "typed_test failed:\n{stdout}");
    assert!(stdout.contains(", 0 failed"), "{stdout}");
}
