//! Compiles the C++ that runs beside libtorch (src/embed/native.cpp: the fused int8 passes and
//! the heap setting of the encoder) against the libtorch torch-sys links (`LIBTORCH`, set in
//! .cargo/config.toml to the project venv's torch).

use std::env;
use std::path::PathBuf;

fn main() {
    const SOURCE: &str = "src/embed/native.cpp";
    println!("cargo:rerun-if-changed={SOURCE}");
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    let Some(libtorch) = env::var_os("LIBTORCH").map(PathBuf::from) else {
        panic!("LIBTORCH is not set: run scripts/setup.sh, which makes .venv/libtorch");
    };
    let abi = env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".into());
    cc::Build::new()
        .cpp(true)
        .file(SOURCE)
        .include(libtorch.join("include"))
        .include(libtorch.join("include/torch/csrc/api/include"))
        .flag("-std=c++17")
        // at::parallel_for is an inline `#pragma omp parallel` in libtorch's headers: without
        // OpenMP it runs on one thread while libtorch's other threads spin.
        .flag("-fopenmp")
        .flag(format!("-D_GLIBCXX_USE_CXX11_ABI={abi}"))
        .flag_if_supported("-Wno-unused-parameter")
        // The 64-byte vector types never cross a function boundary that is not inlined.
        .flag_if_supported("-Wno-psabi")
        .opt_level(3)
        .compile("codeframe_native");
    link_openmp(&libtorch.join("lib"));
}

/// Links the OpenMP runtime libtorch itself uses (pip wheels ship it renamed, `libgomp-*.so.1`).
/// The binary records it by its soname, `libgomp.so.1`, which `scripts/setup.sh` links beside
/// libtorch: libtorch and the fused passes then share one OpenMP runtime and thread pool.
fn link_openmp(lib: &std::path::Path) {
    let bundled = std::fs::read_dir(lib).ok().and_then(|entries| {
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("libgomp") && n.contains(".so"))
            .collect();
        names.sort();
        names.into_iter().next()
    });
    println!("cargo:rustc-link-search=native={}", lib.display());
    match bundled {
        Some(name) => println!("cargo:rustc-link-arg=-l:{name}"),
        None => println!("cargo:rustc-link-lib=gomp"),
    }
}
