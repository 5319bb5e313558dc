//! The Explorer as a person sees it: headless Chromium (Debian's `chromium`) loads the
//! incident's counterexample page from `sealcheck explore` on a loopback port, and the rendered
//! DOM must show the steps and the failing property. A screenshot is kept at
//! `target/explorer-incident.png` (a CI artifact).
//!
//! Chromium is required: without it the test fails and says how to install it, unless
//! `SEALCHECK_SKIP_BROWSER=1` asks to skip it (a note is printed). Set `SEALCHECK_CHROMIUM` to
//! use another binary.

mod explore_support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use explore_support::*;

fn chromium() -> Option<PathBuf> {
    if std::env::var_os("SEALCHECK_SKIP_BROWSER").is_some_and(|v| v == "1") {
        // Straight to stderr, past the test harness's capture, so that the skip shows in logs.
        let _ = writeln!(
            std::io::stderr(),
            "NOTE: SEALCHECK_SKIP_BROWSER=1: the Explorer browser test is skipped, the page was NOT checked"
        );
        return None;
    }
    let path = std::env::var_os("SEALCHECK_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "{} not found: the Explorer browser test needs Debian's chromium; run .ci/run (it installs \
         it) or `apt-get update && apt-get install -y chromium`, or set SEALCHECK_SKIP_BROWSER=1 \
         to skip this test",
        path.display()
    );
    Some(path)
}

/// Runs headless Chromium on a loopback URL with a fresh profile; `extra` adds the output flag.
fn run_chromium(chromium: &Path, url: &str, extra: &[&str]) -> std::process::Output {
    assert!(url.starts_with("http://127.0.0.1:"), "only loopback: {url}");
    // A new, empty profile for every run.
    let profile = std::env::temp_dir().join(format!(
        "sealcheck-chromium-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    assert!(!profile.exists(), "{}", profile.display());
    std::fs::create_dir_all(&profile).unwrap();
    let out = run_with_timeout(
        Command::new(chromium)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                "--virtual-time-budget=5000",
                "--window-size=1400,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(url),
        Duration::from_secs(120),
    );
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Text content of the DOM, tags removed and the few entities the page uses decoded.
fn text_of(dom: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in dom.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of the element the Explorer marks as the selected step.
fn selected_step(dom: &str) -> Option<String> {
    let at = dom.find("is-selected-state\"")?;
    let start = at + dom[at..].find('>')? + 1;
    let end = start + dom[start..].find('<')?;
    Some(text_of(&dom[start..end]))
}

#[test]
fn the_explorer_page_shows_the_incident_counterexample() {
    let Some(chromium) = chromium() else { return };
    let e = Explorer::start(&["--path", INCIDENT_PATH, "--addr", "127.0.0.1:0"]);
    // Run to completion was requested at start: wait for it, so the page shows verdicts.
    e.wait_done(Duration::from_secs(60));
    let url = format!("http://{}/#/steps/{INCIDENT_PATH}", e.addr);

    let out = run_chromium(&chromium, &url, &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&out.stdout);
    let text = text_of(&dom);
    // The path of actions, in protocol words, ending at the selected (last) step.
    for action in [
        REJECTION,
        "N1 writes its storage marker and provisions itself (Provisioning -> ReadWrite)",
        "N2 writes its storage marker and provisions itself (Provisioning -> ReadWrite)",
        "N3 writes its storage marker and provisions itself (Provisioning -> ReadWrite)",
    ] {
        assert!(text.contains(action), "{action:?} not on the page:\n{text}");
    }
    assert_eq!(
        selected_step(&dom).as_deref(),
        Some("N3 writes its storage marker and provisions itself (Provisioning -> ReadWrite)"),
        "the last step is not the selected one:\n{dom}"
    );
    // The failing property, with the verdict of the run to completion.
    assert!(
        text.contains(&format!("Counterexample found: Eventually {LIVENESS}")),
        "{text}"
    );
    assert!(text.contains("Progress: Done"), "{text}");
    assert!(text.contains("Unique States: 530"), "{text}");
    // The sequence diagram and the step's changes.
    assert!(
        text.contains("N5: seal() REJECTED: all nodeset members Provisioning in view v1"),
        "{text}"
    );
    assert!(text.contains("N3 provisions itself"), "{text}");
    assert!(
        text.contains("metadata v3 -> v4: N1=ReadWrite N2=ReadWrite N3=ReadWrite"),
        "{text}"
    );

    let shot = target_dir().join("explorer-incident.png");
    let _ = std::fs::remove_file(&shot);
    run_chromium(
        &chromium,
        &url,
        &[&format!("--screenshot={}", shot.display())],
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        png.len() > 20_000,
        "suspiciously small screenshot: {} bytes",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());
}
