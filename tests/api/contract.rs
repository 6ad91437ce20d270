//! Issue 13, item 4: the OpenAPI document describes what the server does. Schemathesis
//! (installed by `scripts/ensure-deps.sh --test`) runs every check (`--checks all`:
//! server errors, undocumented statuses and content types, response schemas, valid
//! data accepted, invalid data rejected, auth not ignored, unsupported methods)
//! against a server on generated data, with a bounded number of examples so the run
//! takes a few minutes at most on two cores. Any finding fails the test.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::helpers::{spawn_app_with, TOKEN};

/// Where `scripts/ensure-deps.sh --test` installs the pinned schemathesis (a venv);
/// `EVENT_DEDUP_SCHEMATHESIS` overrides the executable.
const SCHEMATHESIS: &str = "/opt/event-dedup-tools/schemathesis-4.32.5/bin/schemathesis";
/// Examples per operation and phase: enough to hit every documented status, small
/// enough for a few minutes on a loaded 2-core machine.
const MAX_EXAMPLES: &str = "100";
/// Upper bound of the whole run; beyond it the test fails instead of hanging.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

fn schemathesis() -> PathBuf {
    std::env::var_os("EVENT_DEDUP_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(SCHEMATHESIS))
}

#[tokio::test]
async fn schemathesis_finds_nothing_with_all_checks() {
    let data = tempfile::tempdir().expect("temp dir");
    let options = event_dedup::generate::GenerateOptions {
        events: 150,
        seed: 13,
        ..Default::default()
    };
    event_dedup::generate::generate(&options, data.path()).expect("generated data");
    let app = spawn_app_with(&data.path().join("events")).await;
    let exe = schemathesis();
    assert!(
        exe.exists(),
        "{} is missing: run `bash scripts/ensure-deps.sh --test`",
        exe.display()
    );
    let schema = app.url("/api/openapi.json");
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/schemathesis.toml");
    let child = tokio::process::Command::new(&exe)
        .args([
            "--config-file",
            config,
            "run",
            &schema,
            "--checks",
            "all",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            "13",
            "--workers",
            "1",
            "--header",
            &format!("Authorization: Bearer {TOKEN}"),
            "--no-color",
            "--generation-database",
            "none",
        ])
        // Anything schemathesis writes stays out of the source tree.
        .current_dir(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("schemathesis starts");
    let output = tokio::time::timeout(RUN_TIMEOUT, child.wait_with_output())
        .await
        .expect("schemathesis finishes within the bound")
        .expect("schemathesis output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found problems ({}):\n{stdout}\n{stderr}",
        output.status
    );
}
