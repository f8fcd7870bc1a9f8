//! The `latchkey` binary: parses the command line and hands over.

fn main() -> std::process::ExitCode {
    latchkey::cli::main()
}
