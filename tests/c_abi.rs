//! Builds tests/c/abi_test.c against include/copilot.h and the freshly built
//! libcopilot.so, then runs it against the real CLI and copilot-replay.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::TestEnv;
use serde_json::json;

/// target/<profile>/deps: `cargo test` builds the cdylib there (it is copied
/// up to target/<profile> only by `cargo build`). The programs get it on
/// LD_LIBRARY_PATH too, because cargo's own LD_LIBRARY_PATH (searched before
/// a RUNPATH) may name target/<profile> with an older copy.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().to_path_buf()
}

fn compile(source: &str, out_name: &str) -> PathBuf {
    compile_with(source, out_name, &[])
}

fn compile_with(source: &str, out_name: &str, extra_flags: &[&str]) -> PathBuf {
    let root = common::repo_dir();
    let lib = lib_dir();
    assert!(
        lib.join("libcopilot.so").is_file(),
        "no libcopilot.so in {}",
        lib.display()
    );
    let out = lib.join(out_name);
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .args(extra_flags)
        .arg("-I")
        .arg(root.join("include"))
        .arg(root.join(source))
        .arg("-o")
        .arg(&out)
        .arg(format!("-L{}", lib.display()))
        .arg("-lcopilot")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "compiling {source} failed");
    out
}

#[test]
fn c_program_drives_the_real_cli_through_the_abi() {
    let exe = compile("tests/c/abi_test.c", "abi_test");
    let env = TestEnv::new(&["weather_tool.yaml", "chat.yaml"]);
    let output = Command::new(&exe)
        .env("LD_LIBRARY_PATH", lib_dir())
        .env("COPILOT_TEST_OPTIONS", env.client_options_json())
        .env(
            "COPILOT_TEST_SESSION",
            env.session_fields(json!({"streaming": true})).to_string(),
        )
        .env("COPILOT_TEST_CWD", env.home_path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "abi_test failed:\n{stdout}");
    assert!(stdout.contains(", 0 failed"));
}

#[test]
fn demo_compiles_and_runs_offline() {
    let exe = compile("examples/demo.c", "demo");
    let env = TestEnv::with_files(&[common::repo_dir().join("examples/conversations/demo.yaml")]);
    let child_env = env.child_env();
    let mut cmd = Command::new(&exe);
    cmd.env_clear();
    for (k, v) in child_env.as_object().unwrap() {
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
    assert!(output.status.success());
    // Streamed text, the tool call with its arguments and result, the final answer.
    for expected in [
        "Let me check the current weather in Paris.",
        "[tool call] get_weather {\"city\":\"Paris\"}",
        "[tool result] 18C and sunny",
        "[final answer] It's a lovely day in Paris, 18C and sunny. A good afternoon for a walk along the Seine.",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
}

/// An existing shared library that is not the Copilot runtime (libm).
fn not_a_runtime() -> &'static str {
    [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/lib/aarch64-linux-gnu/libm.so.6",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .expect("libm")
}

/// Runs tests/c/misuse_test.c (built by `compile_with`) under `wrapper`.
fn run_misuse_program(exe: &std::path::Path, wrapper: &[&str], extra_env: &[(&str, &str)]) {
    let env = TestEnv::new(&["weather_tool.yaml", "chat.yaml"]);
    let (program, args) = match wrapper.split_first() {
        Some((tool, rest)) => (
            PathBuf::from(tool),
            [rest, &[exe.to_str().unwrap()]].concat(),
        ),
        None => (exe.to_path_buf(), Vec::new()),
    };
    let mut in_process = env.client_options();
    let o = in_process.as_object_mut().unwrap();
    o.remove("cwd");
    o.insert("transport".into(), json!("inprocess"));
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("LD_LIBRARY_PATH", lib_dir())
        .env("COPILOT_TEST_OPTIONS", env.client_options_json())
        .env("COPILOT_TEST_INPROCESS_OPTIONS", in_process.to_string())
        .env("COPILOT_TEST_NOT_A_RUNTIME", not_a_runtime())
        .env(
            "COPILOT_TEST_SESSION",
            env.session_fields(json!({"streaming": true})).to_string(),
        );
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "misuse test failed ({:?}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains(", 0 failed"), "{stdout}");
}

/// Misuse of the C API under AddressSanitizer and UBSan (the program is
/// instrumented; ASan's allocator also tracks the library's allocations, so
/// its leak check covers both): no error, no leak.
#[test]
fn misuse_is_clean_under_asan_and_ubsan() {
    let exe = compile_with(
        "tests/c/misuse_test.c",
        "misuse_test_asan",
        &[
            "-g",
            "-fsanitize=address,undefined",
            "-fno-omit-frame-pointer",
            "-fno-sanitize-recover=all",
        ],
    );
    run_misuse_program(
        &exe,
        &[],
        &[
            (
                "ASAN_OPTIONS",
                "detect_leaks=1:abort_on_error=0:exitcode=86",
            ),
            ("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1"),
        ],
    );
}

/// The same program under valgrind memcheck: no invalid access, no definite leak.
#[test]
fn misuse_is_clean_under_valgrind() {
    let exe = compile_with("tests/c/misuse_test.c", "misuse_test_plain", &["-g"]);
    run_misuse_program(
        &exe,
        &[
            "valgrind",
            "--quiet",
            "--error-exitcode=87",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
        ],
        &[],
    );
}

/// The header compiles cleanly as C11 and C++17, and the library exports
/// exactly the functions the header declares.
#[test]
fn header_compiles_as_c_and_cpp_and_matches_the_exports() {
    let root = common::repo_dir();
    let header = root.join("include/copilot.h");
    for (compiler, std, lang) in [("cc", "-std=c11", "c"), ("c++", "-std=c++17", "c++")] {
        let status = Command::new(compiler)
            .args([
                std,
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                "-fsyntax-only",
                "-x",
                lang,
            ])
            .arg(&header)
            .status()
            .expect("run the compiler");
        assert!(
            status.success(),
            "{header:?} does not compile as {lang} ({std})"
        );
    }

    let text = std::fs::read_to_string(&header).unwrap();
    // Every `copilot_name(` in the header: declarations (and calls in doc comments).
    let mut declared: Vec<String> = text
        .match_indices("copilot_")
        .filter_map(|(i, _)| {
            let ident: String = text[i..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            text[i + ident.len()..].starts_with('(').then_some(ident)
        })
        .collect();
    declared.sort();
    declared.dedup();

    let nm = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(lib_dir().join("libcopilot.so"))
        .output()
        .expect("run nm");
    let mut exported: Vec<String> = String::from_utf8_lossy(&nm.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|s| s.starts_with("copilot_"))
        .map(str::to_owned)
        .collect();
    exported.sort();
    assert!(
        exported.len() > 40,
        "only {} copilot_ exports",
        exported.len()
    );
    assert_eq!(exported, declared, "exports and header declarations differ");
}
