//! The `mirage` command.

fn main() {
    // In front of a build script, recording for `mirage pin` (record.rs).
    if let Some(real) = std::env::var_os(mirage::build::record::SCRIPT_ENV) {
        std::process::exit(mirage::build::record::script_main(&real.to_string_lossy()));
    }
    // Under cargo, as its RUSTC_WRAPPER (see rustc_wrapper.rs).
    if std::env::var_os(mirage::build::rustc_wrapper::WRAPPER_ENV).is_some() {
        let argv: Vec<String> = std::env::args().collect();
        std::process::exit(mirage::build::rustc_wrapper::main(&argv));
    }
    let cwd = std::env::current_dir();
    let result = cwd
        .map_err(|e| mirage::error::Error::system(format!("current directory: {e}")))
        .and_then(|cwd| mirage::cli::run(std::env::args().collect(), &cwd));
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    };
    std::process::exit(code)
}
