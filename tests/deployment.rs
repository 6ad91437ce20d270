//! No Docker engine runs on these machines, so the deployment files are kept honest by
//! structure: the compose file's services, health checks and dependencies, the
//! Dockerfile's build/runtime stages, and every command the entrypoint and the compose
//! services invoke must exist in the binary.

use std::path::Path;
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn compose() -> Yaml {
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn strings(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn compose_file_has_postgres_worker_and_api_wired_by_health() {
    let c = compose();
    let services = &c["services"];
    let pg = &services["postgres"];
    assert_eq!(pg["image"].as_str(), Some("postgres:16-alpine"));
    let check = strings(&pg["healthcheck"]["test"]).join(" ");
    assert!(check.contains("pg_isready"), "{check}");
    for name in ["worker", "api"] {
        let s = &services[name];
        assert!(!s.is_badvalue(), "service {name} missing");
        assert_eq!(
            s["depends_on"]["postgres"]["condition"].as_str(),
            Some("service_healthy"),
            "{name}"
        );
        let url = s["environment"]["EVENT_DEDUP_DATABASE_URL"]
            .as_str()
            .unwrap_or_default();
        assert!(
            url.starts_with("postgres://") && url.contains("@postgres:5432/"),
            "{name}: {url}"
        );
        assert_eq!(
            s["image"].as_str(),
            Some("event-dedup:latest"),
            "{name} uses the one image"
        );
    }
    // Issue 13, item 7: a non-loopback API without tokens refuses to start, so the
    // published API requires them and the worker listens on loopback only.
    let tokens = services["api"]["environment"]["EVENT_DEDUP_API_TOKENS"]
        .as_str()
        .unwrap_or_default();
    assert!(tokens.starts_with("${EVENT_DEDUP_API_TOKENS:?"), "{tokens}");
    assert_eq!(
        services["worker"]["environment"]["EVENT_DEDUP_HTTP_ADDR"].as_str(),
        Some("127.0.0.1:8000")
    );
    let volumes = strings(&services["worker"]["volumes"]);
    assert!(
        volumes.iter().any(|v| v.ends_with(":/app/eventdata")),
        "{volumes:?}"
    );
    assert!(
        volumes.iter().any(|v| v.ends_with(":/app/dead_letters")),
        "{volumes:?}"
    );
    assert_eq!(
        services["worker"]["build"]["dockerfile"].as_str(),
        Some("docker/Dockerfile")
    );
}

#[test]
fn dockerfile_builds_locked_with_caches_and_runs_unprivileged() {
    let d = std::fs::read_to_string(root().join("docker/Dockerfile")).unwrap();
    assert!(
        d.contains("AS build") && d.contains("AS runtime"),
        "multi-stage"
    );
    assert!(d.contains("cargo build --release --locked"));
    assert!(d.contains("--mount=type=cache"));
    assert!(
        d.lines()
            .any(|l| l.starts_with("USER ") && !l.contains("root")),
        "non-root user"
    );
    assert!(d.contains("HEALTHCHECK") && d.contains("/health"));
    assert!(d.contains("ENTRYPOINT [\"/usr/local/bin/entrypoint.sh\"]"));
}

/// Every `event-dedup <command>` used by the entrypoint and the compose services exists.
#[test]
fn commands_used_by_deployment_exist_in_the_binary() {
    let entrypoint = std::fs::read_to_string(root().join("docker/entrypoint.sh")).unwrap();
    let mut commands: Vec<String> = entrypoint
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] == "event-dedup")
        .map(|w| w[1].trim_end_matches(';').to_string())
        .collect();
    assert!(commands.contains(&"migrate".to_string()), "{commands:?}");
    let c = compose();
    for name in ["worker", "api"] {
        let cmd = strings(&c["services"][name]["command"]);
        assert_eq!(
            cmd.first().map(String::as_str),
            Some("event-dedup"),
            "{name}: {cmd:?}"
        );
        commands.push(cmd[1].clone());
    }
    for command in commands {
        let out = Command::new(env!("CARGO_BIN_EXE_event-dedup"))
            .arg(&command)
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`event-dedup {command}` does not exist: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
