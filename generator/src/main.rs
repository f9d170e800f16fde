//! The `mirage` command.

fn main() {
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
