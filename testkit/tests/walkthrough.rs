//! The README's first command as an end-to-end test: every step of the
//! walkthrough must get the answer it expects.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walkthrough_plays_through() {
    let running = testkit::walkthrough::start(None).await;
    let result = testkit::walkthrough::tour(&running).await;
    assert_eq!(result, Ok(()));
    assert!(testkit::walkthrough::commands(&running).contains("lambda-url/signout-api/session"));

    // AND every `cargo lambda invoke` line it prints works exactly as pasted
    let written = testkit::walkthrough::write_sample_events(&running)
        .await
        .unwrap();
    assert!(written >= 50, "{written} sample events written");
    let commands = testkit::walkthrough::invoke_commands(&running);
    assert_eq!(commands.len(), 4, "{commands:?}");
    for command in commands {
        let out = std::process::Command::new("sh")
            .args(["-c", &command])
            .current_dir(testkit::root())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{command}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains("errorType"), "{command}: {text}");
    }
}
