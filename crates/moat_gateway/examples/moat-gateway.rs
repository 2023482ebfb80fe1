//! A stand-alone `moat-gateway` binary over the library, for benchmarks and manual runs until
//! the `moat` CLI wires `moat gateway`. Same arguments: `--config FILE`, `check FILE`.

use clap::Parser;

// the same allocator as the `moat` binary
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "moat-gateway",
    about = "moat gateway: the hardened front door for API containers"
)]
struct Cli {
    #[command(flatten)]
    args: moat_gateway::GatewayArgs,
}

fn main() -> std::process::ExitCode {
    moat_gateway::run(Cli::parse().args)
}
