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
    if !matches!(cli.command, args::Command::Hub { .. }) {
        // A server keeps the platform's default: a peer that hangs up is an error
        // for that connection, not the end of the process.
        end_quietly_on_closed_pipe();
    }
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("insikt: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `insikt note list | head -1`: when the reader goes away, end at once and say
/// nothing, as coreutils do, instead of failing on the next line printed. Nothing is
/// lost: every command prints only after what it wrote was acknowledged.
fn end_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal, before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
