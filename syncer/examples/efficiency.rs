//! The syncer's write efficiency at scale (issue 8, item 5; issue 16), measured.
//!
//! `cargo run --release -p layer-syncer --example efficiency -- [N] [--write-latency MS]
//! [--max-concurrent-writes K]` (default 10,000 workloads, no latency, the syncer's default K)
//!
//! Two processes. A child runs the mock API server of the syncer's tests
//! (`tests/mock_api/fake.rs`) over real HTTP on 127.0.0.1, holding N workloads (half Pipelines,
//! half Functions) rendered in-process by `layer-render` with their children, N/20 Indexes,
//! two VectorStores and InfraRules/default (`tests/mock_api/world.rs`). This process runs the
//! syncer (`layer_syncer::run::sync`, with the production client stack and a 2 s resync)
//! against it, so its memory is the syncer's alone. The two talk over the child's stdin and
//! stdout. `--write-latency MS` makes the server answer every write (status applies, Events)
//! only after that long, as a real API server takes 5 to 20 ms per apply; the syncer runs with
//! its default flags (`--max-concurrent-writes 64`, no `--write-qps`).
//!
//! It checks the exact counts (one write per CR on the initial sync, none on resyncs with
//! nothing changed, one write, to its parent, when one Deployment becomes available, and again
//! for each of 20 further changes of that Deployment at pseudo-random points of the resync
//! cycle; one Event per CR on the initial sync and one per change, the laggard's aggregated
//! into two series) and reports the initial sync time, the time from that Deployment's watch event
//! (queued on the watch stream) to the write reaching the server, the evaluation time of a
//! full resync, and this process's peak RSS (VmHWM). It exits 1 when a count is off. No
//! timing is asserted: the same counts are a test (`tests/mock_api/efficiency.rs`).
//!
//! `RUST_LOG=layer_syncer=debug` adds the syncer's log on stderr.
#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stdout)]
#![allow(dead_code)]

#[path = "../tests/mock_api/fake.rs"]
mod fake;
#[path = "../tests/mock_api/harness.rs"]
mod harness;
#[path = "../tests/mock_api/world.rs"]
mod world;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use layer_syncer::metrics::Metrics;
use layer_syncer::run::sync;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

// The syncer binary's allocator, so that the memory measured is the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The resync interval of the bench (the default is 30 s): several resyncs per run.
const RESYNC: Duration = Duration::from_secs(2);
/// How many times the laggard's Deployment changes.
const FLIPS: usize = 20;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        let n = args[2].parse().unwrap();
        let latency = Duration::from_millis(args[3].parse().unwrap());
        return serve(n, latency);
    }
    let mut n = 10_000;
    let mut latency_ms: u64 = 0;
    let mut concurrency = None;
    let mut rest = args.iter().skip(1);
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--write-latency" => latency_ms = rest.next().unwrap().parse().unwrap(),
            "--max-concurrent-writes" => concurrency = Some(rest.next().unwrap().parse().unwrap()),
            other => n = other.parse().unwrap(),
        }
    }
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    measure(n, latency_ms, concurrency);
}

/// `VmHWM` and `VmRSS` of this process, in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// CPU time this process has used (user and system), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at `) `; utime and stime are
    // the 12th and 13th of those, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// The child: the fake API server, driven by lines on stdin.
fn serve(n: usize, latency: Duration) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("fake-api")
        .build()
        .unwrap();
    runtime.block_on(async move {
        let started = Instant::now();
        let w = world::world(n);
        let crs = w.expected.len();
        let objects = w.objects.len();
        let generated = started.elapsed();
        let fake = fake::Fake::new(w.objects.clone(), &[fake::NODE_POOLS]);
        fake.set_write_latency(latency);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(fake.clone().serve_tcp(listener));
        let mut out = tokio::io::stdout();
        let say = |line: String| {
            let mut line = line;
            line.push('\n');
            line
        };
        out.write_all(
            say(format!(
                "ready {port} {crs} {objects} {} {}",
                generated.as_millis(),
                serde_json::to_string(&w.counts).unwrap()
            ))
            .as_bytes(),
        )
        .await
        .unwrap();
        out.flush().await.unwrap();
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let mut synced_at = 0;
        let mut flips = 0;
        while let Some(cmd) = lines.next_line().await.unwrap() {
            let reply = match cmd.as_str() {
                "start" => {
                    let t = Instant::now();
                    fake.wait_until_for("the initial sync", Duration::from_secs(600), |f| {
                        f.patch_total() >= crs
                    })
                    .await;
                    let took = t.elapsed();
                    synced_at = fake.patch_total();
                    fake.wait_until_for("the initial Events", Duration::from_secs(600), |f| {
                        f.event_write_count() >= crs
                    })
                    .await;
                    let events_took = t.elapsed();
                    format!(
                        "synced {} {} {}",
                        took.as_millis(),
                        synced_at,
                        events_took.as_millis()
                    )
                }
                "quiet" => format!("quiet {}", fake.patch_total() - synced_at),
                "flip" => {
                    fake.drain_patches().await;
                    // The laggard's Deployment gets a replica, or loses it again.
                    let meta = &w.laggard_available["metadata"];
                    let mut d = fake
                        .get(
                            fake::DEPLOYMENTS,
                            meta["namespace"].as_str(),
                            meta["name"].as_str().unwrap(),
                        )
                        .unwrap();
                    let up = i64::from(d["status"]["availableReplicas"] == 0);
                    d["status"]["availableReplicas"] = up.into();
                    d["status"]["readyReplicas"] = up.into();
                    flips += 1;
                    fake.apply(fake::DEPLOYMENTS, d);
                    // The event is on the watch stream once apply returns.
                    let t = Instant::now();
                    let p = fake.next_patch().await;
                    let took = p.at - t;
                    let reason = world::ready_of(&p.body);
                    format!(
                        "flipped {} {} {} {}",
                        took.as_micros(),
                        p.path == w.laggard_parent,
                        reason.0,
                        reason.1
                    )
                }
                "check" => {
                    let counts = fake.patch_counts();
                    let mut wrong = 0;
                    let mut first: BTreeMap<String, (String, String)> = BTreeMap::new();
                    for r in fake.requests().iter().filter(|r| r.is_status_patch()) {
                        if r.answered != 200 {
                            wrong += 1;
                        }
                        first
                            .entry(r.path.clone())
                            .or_insert_with(|| world::ready_of(&r.body));
                    }
                    let mismatched = first
                        .iter()
                        .filter(|(path, ready)| w.expected.get(*path) != Some(ready))
                        .count();
                    let not_once = counts
                        .iter()
                        .filter(|(path, n)| {
                            let expected = if **path == w.laggard_parent {
                                1 + flips
                            } else {
                                1
                            };
                            **n != expected
                        })
                        .count();
                    let events = fake.event_writes();
                    let posts = events.iter().filter(|e| e.method == "POST").count();
                    let refused = events
                        .iter()
                        .filter(|e| e.answered != 200 && e.answered != 201)
                        .count();
                    format!(
                        "checked {} {} {} {} {} {} {} {}",
                        fake.patch_total(),
                        counts.len(),
                        not_once,
                        mismatched,
                        wrong,
                        posts,
                        events.len() - posts,
                        refused
                    )
                }
                _ => break,
            };
            out.write_all(say(reply).as_bytes()).await.unwrap();
            out.flush().await.unwrap();
        }
    });
}

struct Child {
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Child {
    fn send(&mut self, cmd: &str) {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn ask(&mut self, cmd: &str) -> Vec<String> {
        self.send(cmd);
        self.read()
    }

    fn read(&mut self) -> Vec<String> {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.split_whitespace().map(str::to_string).collect()
    }
}

fn metric(metrics: &Metrics, series: &str) -> f64 {
    metrics
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Evaluations so far, all kinds.
fn evaluations(metrics: &Metrics) -> u64 {
    metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with("layer_syncer_reconciles_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn resyncs(metrics: &Metrics, n: f64) {
    let from = metric(metrics, "layer_syncer_resyncs_total");
    while metric(metrics, "layer_syncer_resyncs_total") < from + n {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The parent: the syncer.
fn measure(n: usize, latency_ms: u64, concurrency: Option<usize>) {
    let mut process = Command::new(std::env::current_exe().unwrap())
        .args(["--serve", &n.to_string(), &latency_ms.to_string()])
        // A heap profiler preloaded into this process profiles the syncer, not the fake.
        .env_remove("LD_PRELOAD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Child {
        stdin: process.stdin.take().unwrap(),
        stdout: BufReader::new(process.stdout.take().unwrap()),
    };
    let ready = child.read();
    assert_eq!(ready[0], "ready", "{ready:?}");
    let port = &ready[1];
    let crs: usize = ready[2].parse().unwrap();
    println!(
        "cluster: {crs} CRs ({n} workloads), {} objects in all {}, rendered in {} ms; server write latency {latency_ms} ms; {} writes at once",
        ready[3],
        ready[5],
        ready[4],
        concurrency.map_or("the default number of".to_string(), |c| c.to_string())
    );
    let (hwm_before, _) = memory();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("syncer")
        .build()
        .unwrap();
    runtime.block_on(async move {
        let mut config = kube::Config::new(format!("http://127.0.0.1:{port}").parse().unwrap());
        config.default_namespace = "layer".into();
        let client = layer_syncer::client::build(config, Duration::from_secs(30)).unwrap();
        let mut sync_config = harness::config();
        sync_config.resync = RESYNC;
        sync_config.watch.backoff = None;
        sync_config.backoff = layer_syncer::status::writer::Backoff::default();
        // The write flags as the syncer's defaults set them.
        let defaults = <layer_syncer::cli::Cli as clap::Parser>::parse_from(["layer-syncer"]);
        sync_config.max_concurrent_writes = concurrency.unwrap_or(defaults.max_concurrent_writes);
        sync_config.write_qps = defaults.write_qps;
        sync_config.write_burst = defaults.write_burst;
        let metrics = Metrics::new();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (_leader_tx, leader) = tokio::sync::watch::channel(true);
        let cpu_start = cpu_seconds();
        child.send("start");
        let task = tokio::spawn(sync(
            client,
            sync_config,
            leader,
            Arc::new(AtomicBool::new(false)),
            metrics.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        let synced = tokio::task::block_in_place(|| child.read());
        assert_eq!(synced[0], "synced");
        let sync_cpu = cpu_seconds() - cpu_start;
        let sync_evaluations = evaluations(&metrics);
        let (hwm_sync, rss_sync) = memory();
        println!(
            "initial sync: {} ms to {} writes ({} CRs); {} ms to the last of their Events; meanwhile the syncer used {sync_cpu:.1} s of CPU and evaluated {sync_evaluations} CRs",
            synced[1], synced[2], crs, synced[3]
        );
        resyncs(&metrics, 2.0).await;
        let before = metric(&metrics, "layer_syncer_reconcile_duration_seconds_sum");
        let reconciles = metric(&metrics, "layer_syncer_reconcile_duration_seconds_count");
        resyncs(&metrics, 1.0).await;
        let round = metric(&metrics, "layer_syncer_reconcile_duration_seconds_sum") - before;
        let evaluated = metric(&metrics, "layer_syncer_reconcile_duration_seconds_count") - reconciles;
        resyncs(&metrics, 1.0).await;
        let quiet = tokio::task::block_in_place(|| child.ask("quiet"));
        let (hwm_resync, _) = memory();
        println!(
            "resyncs with nothing changed: {} writes; one full resync evaluates {evaluated} CRs in {:.0} ms",
            quiet[1],
            round * 1000.0
        );
        // The laggard's Deployment becomes available (the case), then flips back and
        // forth at pseudo-random points of the resync cycle.
        let mut latencies = Vec::new();
        let mut all_right = true;
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for i in 0..FLIPS {
            let flipped = tokio::task::block_in_place(|| child.ask("flip"));
            let ms = flipped[1].parse::<f64>().unwrap() / 1000.0;
            let expected = if i % 2 == 0 { "Available" } else { "WorkerUnavailable" };
            all_right &= flipped[2] == "true" && flipped[4] == expected;
            if i == 0 {
                println!(
                    "one Deployment becomes available: its parent written {ms:.2} ms after the watch event (to the parent: {}, Ready={} {})",
                    flipped[2], flipped[3], flipped[4]
                );
            }
            latencies.push(ms);
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let pause = Duration::from_millis(seed % RESYNC.as_millis() as u64);
            tokio::time::sleep(pause).await;
        }
        let mut sorted = latencies.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "{FLIPS} such changes at random points of the resync cycle: each one write to its parent: {}; event to write median {:.2} ms, 90th percentile {:.2} ms, max {:.2} ms",
            if all_right { "yes" } else { "NO" },
            sorted[FLIPS / 2],
            sorted[FLIPS * 9 / 10],
            sorted[FLIPS - 1]
        );
        let (hwm_flips, _) = memory();
        resyncs(&metrics, 2.0).await;
        let checked = tokio::task::block_in_place(|| child.ask("check"));
        println!(
            "writes in all: {} to {} CRs; CRs not written exactly as expected: {}; first writes with the wrong status: {}; answers other than 200: {}",
            checked[1], checked[2], checked[3], checked[4], checked[5]
        );
        println!(
            "events: {} created, {} patched (series), {} refused",
            checked[6], checked[7], checked[8]
        );
        let (hwm, rss) = memory();
        println!(
            "syncer memory: peak RSS {hwm:.0} MiB (VmHWM; {hwm_before:.0} MiB before the syncer started); after the initial sync RSS {rss_sync:.0} MiB, peak {hwm_sync:.0} MiB; after the resyncs peak {hwm_resync:.0} MiB; after the changes peak {hwm_flips:.0} MiB; RSS at the end {rss:.0} MiB"
        );
        let ok = synced[2] == crs.to_string()
            && quiet[1] == "0"
            && all_right
            && checked[1] == (crs + FLIPS).to_string()
            && checked[3] == "0"
            && checked[4] == "0"
            && checked[5] == "0"
            // One Event per CR, and one per change: the laggard's first two create its two
            // series, the rest patch them.
            && checked[6] == (crs + 1).to_string()
            && checked[7] == (FLIPS - 1).to_string()
            && checked[8] == "0";
        println!("exact counts: {}", if ok { "ok" } else { "FAILED" });
        let _ = stop.send(());
        let _ = task.await;
        let _ = child.ask("exit");
        if !ok {
            std::process::exit(1);
        }
    });
    let _ = process.wait();
}
