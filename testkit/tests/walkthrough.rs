//! The README's first command as an end-to-end test: every step of the
//! walkthrough must get the answer it expects.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walkthrough_plays_through() {
    let running = testkit::walkthrough::start(None).await;
    let result = testkit::walkthrough::tour(&running).await;
    assert_eq!(result, Ok(()));
    assert!(testkit::walkthrough::commands(&running).contains("lambda-url/signout-api/session"));
}
