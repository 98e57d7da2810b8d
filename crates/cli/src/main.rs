//! `scimitar`: the identity provisioning hub in one binary. This crate reads configuration, picks
//! the concrete store, wires the server and runs subcommands.

mod admin;
mod app_client;
mod app_cmd;
mod app_print;
mod app_watch;
mod bench;
mod config;
mod declared;
mod group_cmd;
mod import;
mod inbound_serve;
mod lang;
mod serve;
mod store_cmd;
mod targets;

use clap::Parser as _;

/// The request path allocates many small JSON values; mimalloc serves them faster than glibc's
/// malloc (`scimitar bench` measures the difference).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = config::Cli::parse();
    config::init_logging(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: config::Cli) -> anyhow::Result<()> {
    use config::Command;
    match cli.command {
        Command::Serve(args) => serve::run(&cli.storage, args).await,
        Command::Tenant(cmd) => admin::tenant(&cli.storage, cmd).await,
        Command::Token(cmd) => admin::token(&cli.storage, cmd).await,
        Command::Schema(cmd) => admin::schema(&cli.storage, cmd).await,
        Command::Migrate => store_cmd::migrate(&cli.storage).await,
        Command::Store(cmd) => store_cmd::run(cmd).await,
        Command::Bench(args) => bench::run(args).await,
        Command::Import(args) => import::run(&cli.storage, args).await,
        Command::Expr(cmd) => lang::expr(&cli.storage, cmd).await,
        Command::Rule(cmd) => lang::rule(cmd),
        Command::App(args) => app_cmd::run(args).await,
        Command::Group(args) => group_cmd::run(args).await,
    }
}
