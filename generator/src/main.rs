//! The `mirage` command.

fn main() {
    // Under cargo, as its RUSTC_WRAPPER (see rustc_wrapper.rs).
    if std::env::var_os(mirage::rustc_wrapper::WRAPPER_ENV).is_some() {
        let argv: Vec<String> = std::env::args().collect();
        std::process::exit(mirage::rustc_wrapper::main(&argv));
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
