//! The `wolfe` binary: parses the command line and hands over to the library.

fn main() -> std::process::ExitCode {
    // Reads FAILPOINTS; only with the test feature `failpoints`.
    #[cfg(feature = "failpoints")]
    let _fail_points = fail::FailScenario::setup();
    wolfe::cli::main()
}
