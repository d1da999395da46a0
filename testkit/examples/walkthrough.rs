//! `make run`: the product locally, with a walkthrough, then left running
//! until Ctrl-C (which stops the emulator and every function process).

#[tokio::main]
async fn main() {
    println!(
        "Starting the emulator and the functions (the first run compiles them: a few minutes)…"
    );
    let running = testkit::walkthrough::start(
        std::env::var("LAMBDA_PORT")
            .ok()
            .and_then(|p| p.parse().ok()),
    )
    .await;
    if let Err(e) = testkit::walkthrough::tour(&running).await {
        eprintln!("\n{e}");
        std::process::exit(1);
    }
    if let Err(e) = testkit::walkthrough::write_sample_events(&running).await {
        eprintln!("could not write the filled sample events: {e}");
    }
    println!("{}", testkit::walkthrough::commands(&running));
    if std::env::var("WALKTHROUGH_EXIT").is_ok() {
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
    println!("\nStopping…");
    // Dropping `running` stops cargo lambda watch (its whole process group);
    // the emulator exits when its stdin closes with this process.
}
