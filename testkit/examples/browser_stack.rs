//! The browser suite's back end (`tests/browser/conftest.py` starts it): the
//! emulator and the four functions configured for the `*.test` sites
//! (`testkit::browser`). Prints one JSON line describing them once they are
//! ready, then runs until its standard input closes. `LOGOUT_SCOPE` in its
//! environment (`session` by default) is given to the logout function.

#[tokio::main]
async fn main() {
    let running = testkit::browser::start(None).await;
    println!("{}", testkit::browser::describe(&running));
    let _ = tokio::task::spawn_blocking(|| {
        use std::io::Read;
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await;
    // Dropping `running` stops cargo lambda watch and its functions; the
    // emulator exits when its stdin closes with this process.
}
