//! `passerelle network`: nodes with metrics and positions, edges with
//! strength and component, as JSON.

use std::process::ExitCode;

use passerelle_projections::views::positions;

use crate::cli::NetworkArgs;
use crate::render::network_json;

/// Prints the network.
pub async fn run(args: NetworkArgs) -> anyhow::Result<ExitCode> {
    let request = super::load_view(&args.view).await?;
    let view = request.view()?;
    let pos = positions(&request.engine, &view, &request.settings);
    println!(
        "{}",
        serde_json::to_string_pretty(&network_json(&view, &pos))?
    );
    Ok(ExitCode::SUCCESS)
}
