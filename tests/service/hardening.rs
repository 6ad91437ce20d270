//! Issue 13 at the service level: dead-lettering that failed is retried at the next
//! rescan; without API tokens the service refuses a non-loopback address.

use crate::helpers::{dead_letters_in, files_in, wait_until, TestEnv, TIMEOUT};

/// Item 3: the dead-letter directory is unusable (here: a plain file stands in its
/// place), so a bad file cannot be dead-lettered. It stays in place, nothing partial
/// is left, and once the directory is usable again the periodic rescan moves it.
#[actix_rt::test]
async fn a_dead_letter_that_failed_is_retried_at_the_rescan() {
    let env = TestEnv::new().await;
    let app = env.spawn_with(&[("RESCAN_INTERVAL_SECS", "1")]).await;
    let dead = env.dead().to_path_buf();
    std::fs::remove_dir(&dead).expect("empty dead-letter dir");
    std::fs::write(&dead, b"not a directory").expect("blocker");
    let errors = || event_dedup::metrics::metrics().dead_letter_errors.get();
    let before = errors();
    env.drop_bytes("abc_01.01.2026_x.json", b"{\"events\": [ {\"id\": ");
    wait_until(
        "two failed attempts (the rescan retries)",
        TIMEOUT,
        || async { errors() >= before + 2 },
    )
    .await;
    assert!(
        env.dir().join("abc_01.01.2026_x.json").exists(),
        "the file stays in place"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM file_ingestions WHERE status = 'failed'")
            .await,
        0,
        "nothing is recorded until the file is dead-lettered"
    );

    std::fs::remove_file(&dead).expect("remove blocker");
    std::fs::create_dir(&dead).expect("dead-letter dir back");
    wait_until(
        "dead-lettered after the directory is back",
        TIMEOUT,
        || async { dead_letters_in(&dead).len() == 2 && files_in(env.dir()).is_empty() },
    )
    .await;
    let names: Vec<String> = files_in(&dead)
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        names,
        vec!["abc_01.01.2026_x.json", "abc_01.01.2026_x.json.error.json"]
    );
    wait_until("the failure is recorded", TIMEOUT, || async {
        env.count("SELECT count(*) FROM file_ingestions WHERE status = 'failed'")
            .await
            == 1
    })
    .await;
    app.stop().await;
}

/// Item 7: no tokens and a non-loopback address: start-up fails, naming the
/// variable; with tokens the same address is fine.
#[actix_rt::test]
async fn without_tokens_a_public_address_is_refused_at_start() {
    let env = TestEnv::new().await;
    let refused =
        event_dedup::startup::App::build(env.settings(&[("HTTP_ADDR", "0.0.0.0:0")])).await;
    let Err(e) = refused else {
        panic!("a public address without tokens must be refused");
    };
    assert!(format!("{e:#}").contains("EVENT_DEDUP_API_TOKENS"), "{e:#}");
    let app = env
        .spawn_with(&[("HTTP_ADDR", "0.0.0.0:0"), ("API_TOKENS", "ops:s3cret")])
        .await;
    let (status, _) = crate::helpers::http_get(app.port, "/health").await;
    assert_eq!(status, 200);
    app.stop().await;
}
