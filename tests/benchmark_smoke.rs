//! The benchmark binary, run with tiny sizes: it must start its own
//! PostgreSQL, run all four benchmarks, find every count exact (it exits
//! non-zero otherwise) and print each figure with its goal.

#[test]
fn the_benchmark_runs_end_to_end_with_tiny_sizes() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_atelier-bench"))
        .arg("--smoke")
        .env_remove("ATELIER_BENCH_DATABASE_URL")
        .output()
        .expect("run atelier-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "atelier-bench failed:\n{stdout}\n{stderr}"
    );
    for heading in [
        "1. Drain rate",
        "atelier worker x1",
        "atelier worker x2",
        "1b. Signals drain",
        "counts exact after every run",
        "2. Hot row",
        "synchronous counter (baseline)",
        "counts exact in both",
        "3. Staleness",
        "probes: p50",
        "4. Verification",
        "all verified",
    ] {
        assert!(stdout.contains(heading), "no {heading:?} in:\n{stdout}");
    }
    assert_eq!(stdout.matches("goal:").count(), 4, "{stdout}");
}

/// The soak with tiny durations: the embedded postmaster is SIGKILLed and
/// SIGQUIT under a retried RecordUsage/CreateSkill load, the server's
/// supervisor brings it back, and nothing acknowledged may be missing (the
/// benchmark exits non-zero if anything is lost, duplicated or miscounted).
#[test]
fn the_soak_loses_nothing_when_the_embedded_postmaster_is_killed_under_load() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_atelier-bench"))
        .args(["--smoke", "--only", "soak"])
        .env_remove("ATELIER_BENCH_DATABASE_URL")
        .output()
        .expect("run atelier-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "atelier-bench --only soak failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("faults 2;"), "{stdout}");
    assert!(stdout.contains("lost 0; duplicated 0"), "{stdout}");
}
