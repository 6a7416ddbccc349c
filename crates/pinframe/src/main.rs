//! `pinframe`: parses the command line and hands over to the library.

use std::io::Write;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;
use pinframe::cli::{self, Cli, Command};

fn main() -> ExitCode {
    let args = match Cli::try_parse() {
        Ok(args) => args,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // A one-line reason (`docs/protocol.md`, "Command line"): clap's first line, without its usage block.
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("error: invalid arguments");
            eprintln!("{first} (see pinframe --help)");
            return ExitCode::from(2);
        }
    };
    let tool = match args.command {
        Command::Serve(serve) => return serve_blocking(pinframe::server::serve(serve)),
        Command::Cms(cms) => return serve_blocking(pinframe_cms::start::serve(cms)),
        Command::Issuer(issuer) => return issuer_blocking(issuer),
        Command::Audit(audit) => return audit_blocking(audit),
        Command::Tool(tool) => tool,
    };
    match cli::run(tool, &mut std::io::stdin().lock()) {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(&out).and_then(|()| stdout.flush()).is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve_blocking(
    server: impl std::future::Future<Output = Result<(), pinframe_server::startup::StartupError>>,
) -> ExitCode {
    pinframe::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn issuer_blocking(command: cli::IssuerCommand) -> ExitCode {
    print_blocking(async { pinframe::admin::run(command).await.map_err(|e| e.to_string()) })
}

/// `pinframe audit …`: exits 0 with its output, or 1 with the reason (each broken chain's first
/// broken record) on stderr.
fn audit_blocking(command: pinframe::audit::cli::AuditCommand) -> ExitCode {
    print_blocking(pinframe::audit::cli::run(command))
}

/// Runs a command to its end on a one-thread runtime: its output on stdout and exit 0, or each
/// line of its error on stderr after `error: ` and exit 1. The output keeps its type (an issuer's new
/// client secret stays in `Zeroizing` until it is dropped).
fn print_blocking<O: AsRef<str>>(command: impl std::future::Future<Output = Result<O, String>>) -> ExitCode {
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|runtime| runtime.block_on(command));
    match result {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(out.as_ref().as_bytes()).and_then(|()| stdout.flush()).is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            for line in e.lines() {
                eprintln!("error: {line}");
            }
            ExitCode::FAILURE
        }
    }
}
