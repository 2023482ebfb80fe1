//! A stand-alone `moat-gateway` binary over the library, for benchmarks and manual runs until
//! the `moat` CLI wires `moat gateway`. Same arguments: `--config FILE`, `check FILE`.

use clap::Parser;

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
