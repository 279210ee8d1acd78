//! `insikt`: the command-line app over the Insikt core — the same API the Android
//! and iOS apps use through the bindings.

mod args;
mod commands;
mod context;
mod demo;
mod demo_sync;
mod media;
mod sync;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A panic must never print a stack trace that could quote data; say one line.
    std::panic::set_hook(Box::new(|_| {
        eprintln!("insikt: internal error (this is a bug; nothing acknowledged was lost)");
    }));
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("insikt: {e}");
            ExitCode::FAILURE
        }
    }
}
