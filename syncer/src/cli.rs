//! Flags. [`Cli`] is what clap parses; [`Options`] is what the syncer runs with, checked once
//! before any work (ripgrep's `LowArgs` into `HiArgs`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::readiness::conditions::human_duration;

/// Writes readiness status on hev layer custom resources. Reads everything else; writes
/// nothing else.
#[derive(Clone, Debug, Parser)]
#[command(name = "layer-syncer", version)]
pub struct Cli {
    /// Watch only this namespace (InfraRules and NodePools are cluster-scoped and always
    /// watched). Default: every namespace.
    #[arg(long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Kubeconfig file for running outside the cluster. Default: in-cluster service account,
    /// else $KUBECONFIG or ~/.kube/config.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context. Default: the current context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// How long a missing child, stale render or other recoverable problem may last without
    /// progress before it is reported as Stalled.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub stall_after: Duration,
    /// Time between VectorStore endpoint probes.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub probe_interval: Duration,
    /// Bound on one endpoint probe.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub probe_timeout: Duration,
    /// Do not probe VectorStore endpoints (status.reachable is then not reported).
    #[arg(long)]
    pub no_probe: bool,
    /// Address of the /healthz, /readyz and /metrics server.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,
    /// Take a Lease so that only its holder writes status (for more than one replica).
    #[arg(long)]
    pub leader_elect: bool,
    /// Name of the Lease, in the release namespace.
    #[arg(long, value_name = "NAME", default_value = "layer-syncer")]
    pub lease_name: String,
    /// How long the Lease stays valid after its holder last renewed it: a replica takes over
    /// at most this long after the holder stops. Whole seconds.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    pub lease_duration: Duration,
    /// How long before the Lease expires its holder renews it. Whole seconds, shorter than
    /// --lease-duration.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub lease_renew_before: Duration,
    /// Namespace of the install (the Lease and the document-cache StatefulSet). Default:
    /// $POD_NAMESPACE, else the kubeconfig's or service account's namespace.
    #[arg(long, value_name = "NAMESPACE", env = "POD_NAMESPACE")]
    pub release_namespace: Option<String>,
    /// Name of the document-cache StatefulSet in the release namespace.
    #[arg(long, value_name = "NAME", default_value = "layer-document-cache")]
    pub document_cache_statefulset: String,
    /// The install's replica ceiling (the render profile's maxReplicasCeiling): a workload
    /// whose replicas.max is above it is Stalled.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_replicas_ceiling: i32,
    /// How often every CR is evaluated again even without events (stall deadlines fire on it).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub resync_interval: Duration,
    /// Bound on one API request: its answer must start, and (except for watch streams) end,
    /// within this time, or it is retried with backoff.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub api_timeout: Duration,
    /// Status writes (each with the Event that may follow it) in flight at once. Never more
    /// than one per CR.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_concurrent_writes: usize,
    /// Client-side cap on writes (status applies and Events) per second; 0 leaves the pacing
    /// to the API server's priority and fairness (429 answers are honoured either way).
    #[arg(long, value_name = "QPS", default_value_t = 0.0)]
    pub write_qps: f64,
    /// Writes that may go out at once above --write-qps after a quiet spell.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub write_burst: u32,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

/// Checked options.
#[derive(Clone, Debug)]
pub struct Options {
    /// The flags as given.
    pub cli: Cli,
}

/// A flag combination that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OptionsError {
    /// A duration that must be positive is zero.
    #[error("--{0} must be longer than zero")]
    ZeroDuration(&'static str),
    /// The probe could never finish before the next one starts.
    #[error(
        "--probe-timeout ({}) must not be longer than --probe-interval ({})",
        human_duration(*.timeout),
        human_duration(*.interval)
    )]
    ProbeTimeoutTooLong {
        /// `--probe-timeout`.
        timeout: Duration,
        /// `--probe-interval`.
        interval: Duration,
    },
    /// The ceiling must allow at least one replica.
    #[error("--max-replicas-ceiling must be at least 1")]
    Ceiling,
    /// A count that must be positive is zero.
    #[error("--{0} must be at least 1")]
    ZeroCount(&'static str),
    /// `--write-qps` is negative or not a number.
    #[error("--write-qps must be 0 (no cap) or a positive number")]
    WriteQps,
    /// The Lease takes whole seconds.
    #[error("--{0} must be a whole number of seconds")]
    FractionalSeconds(&'static str),
    /// The holder would renew after its Lease expired.
    #[error(
        "--lease-renew-before ({renew_before:?}) must be shorter than --lease-duration ({duration:?})"
    )]
    RenewTooLate {
        /// `--lease-renew-before`.
        renew_before: Duration,
        /// `--lease-duration`.
        duration: Duration,
    },
}

impl Cli {
    /// Checks the flags.
    pub fn validate(self) -> Result<Options, OptionsError> {
        let Cli {
            stall_after,
            probe_interval,
            probe_timeout,
            max_replicas_ceiling,
            resync_interval,
            api_timeout,
            lease_duration,
            lease_renew_before,
            max_concurrent_writes,
            write_qps,
            write_burst,
            ..
        } = &self;
        for (name, d) in [
            ("stall-after", stall_after),
            ("probe-interval", probe_interval),
            ("probe-timeout", probe_timeout),
            ("resync-interval", resync_interval),
            ("api-timeout", api_timeout),
            ("lease-duration", lease_duration),
            ("lease-renew-before", lease_renew_before),
        ] {
            if d.is_zero() {
                return Err(OptionsError::ZeroDuration(name));
            }
        }
        if probe_timeout > probe_interval {
            return Err(OptionsError::ProbeTimeoutTooLong {
                timeout: *probe_timeout,
                interval: *probe_interval,
            });
        }
        if *max_replicas_ceiling < 1 {
            return Err(OptionsError::Ceiling);
        }
        for (name, d) in [
            ("lease-duration", lease_duration),
            ("lease-renew-before", lease_renew_before),
        ] {
            if d.subsec_nanos() != 0 {
                return Err(OptionsError::FractionalSeconds(name));
            }
        }
        if lease_renew_before >= lease_duration {
            return Err(OptionsError::RenewTooLate {
                renew_before: *lease_renew_before,
                duration: *lease_duration,
            });
        }
        if *max_concurrent_writes == 0 {
            return Err(OptionsError::ZeroCount("max-concurrent-writes"));
        }
        if *write_burst == 0 {
            return Err(OptionsError::ZeroCount("write-burst"));
        }
        if !(write_qps.is_finite() && *write_qps >= 0.0) {
            return Err(OptionsError::WriteQps);
        }
        Ok(Options { cli: self })
    }
}

/// Parses `500ms`, `30s`, `10m`, `1h30m` (a sequence of number-unit pairs) with humantime,
/// taking only these four units, without spaces or fractions: humantime also reads days,
/// months (`M`, beside `m` for minutes) and years, which are no scale for these flags.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    use humantime::DurationError as E;
    let s = s.trim();
    let expected_number = || format!("{s:?}: expected a number, like 30s or 10m");
    if !s.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(expected_number());
    }
    let unknown = |unit: &str| format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)");
    match humantime::parse_duration(s) {
        Ok(d) => match s
            .split(|c: char| c.is_ascii_digit())
            .find(|unit| !unit.is_empty() && !matches!(*unit, "ms" | "s" | "m" | "h"))
        {
            Some(unit) => Err(unknown(unit)),
            None => Ok(d),
        },
        Err(E::Empty) => Err("empty duration".into()),
        Err(E::UnknownUnit { unit, .. }) if unit.is_empty() => {
            Err(format!("{s:?}: missing unit (ms, s, m or h)"))
        }
        Err(E::UnknownUnit { unit, .. }) => Err(unknown(&unit)),
        Err(E::NumberOverflow) => Err(format!("{s:?}: number too large")),
        Err(E::NumberExpected(_) | E::InvalidCharacter(_)) => Err(expected_number()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("layer-syncer").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let cli = parse(&[]).unwrap();
        assert_eq!(cli.stall_after, Duration::from_secs(600));
        assert_eq!(cli.probe_interval, Duration::from_secs(30));
        assert_eq!(cli.probe_timeout, Duration::from_secs(5));
        assert_eq!(cli.http_addr, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(cli.max_replicas_ceiling, 100);
        assert_eq!(cli.document_cache_statefulset, "layer-document-cache");
        assert_eq!(cli.lease_name, "layer-syncer");
        assert!(!cli.no_probe && !cli.leader_elect);
        assert_eq!(cli.log_format, LogFormat::Json);
        assert_eq!(cli.api_timeout, Duration::from_secs(30));
        assert_eq!(cli.lease_duration, Duration::from_secs(15));
        assert_eq!(cli.lease_renew_before, Duration::from_secs(5));
        assert_eq!(cli.max_concurrent_writes, 64);
        assert_eq!(cli.write_qps, 0.0);
        assert_eq!(cli.write_burst, 64);
    }

    #[test]
    fn the_write_flags_must_allow_a_write() {
        let cli = parse(&[
            "--max-concurrent-writes",
            "8",
            "--write-qps",
            "2.5",
            "--write-burst",
            "5",
        ])
        .unwrap();
        assert_eq!(
            (cli.max_concurrent_writes, cli.write_qps, cli.write_burst),
            (8, 2.5, 5)
        );
        assert!(cli.validate().is_ok());
        for (args, err) in [
            (
                &["--max-concurrent-writes", "0"][..],
                OptionsError::ZeroCount("max-concurrent-writes"),
            ),
            (
                &["--write-burst", "0"][..],
                OptionsError::ZeroCount("write-burst"),
            ),
            (&["--write-qps=-1"][..], OptionsError::WriteQps),
            (&["--write-qps", "NaN"][..], OptionsError::WriteQps),
        ] {
            assert_eq!(
                parse(args).unwrap().validate().unwrap_err(),
                err,
                "{args:?}"
            );
        }
        assert_eq!(
            OptionsError::ZeroCount("write-burst").to_string(),
            "--write-burst must be at least 1"
        );
    }

    #[test]
    fn the_lease_takes_whole_seconds_and_is_renewed_before_it_expires() {
        let cli = parse(&["--lease-duration", "2s", "--lease-renew-before", "1s"]).unwrap();
        assert!(cli.validate().is_ok());
        let late = parse(&["--lease-duration", "5s", "--lease-renew-before", "5s"]).unwrap();
        assert_eq!(
            late.validate().unwrap_err().to_string(),
            "--lease-renew-before (5s) must be shorter than --lease-duration (5s)"
        );
        let fraction = parse(&["--lease-duration", "1500ms"]).unwrap();
        assert_eq!(
            fraction.validate().unwrap_err(),
            OptionsError::FractionalSeconds("lease-duration")
        );
        let zero = parse(&["--lease-renew-before", "0s"]).unwrap();
        assert_eq!(
            zero.validate().unwrap_err(),
            OptionsError::ZeroDuration("lease-renew-before")
        );
    }

    #[test]
    fn the_api_timeout_takes_a_duration_and_must_be_positive() {
        let cli = parse(&["--api-timeout", "2m"]).unwrap();
        assert_eq!(cli.api_timeout, Duration::from_secs(120));
        assert!(parse(&["--api-timeout", "30"]).is_err());
        let zero = parse(&["--api-timeout", "0s"]).unwrap();
        assert_eq!(
            zero.validate().unwrap_err(),
            OptionsError::ZeroDuration("api-timeout")
        );
    }

    #[test]
    fn a_printed_duration_reads_back() {
        for ms in [
            0,
            1,
            999,
            1_000,
            59_999,
            90_000,
            3_600_000,
            5_400_500,
            86_400_000,
            172_861_001,
        ] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse_duration(&human_duration(d)), Ok(d), "{d:?}");
        }
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(
            parse_duration("10").unwrap_err(),
            "\"10\": missing unit (ms, s, m or h)"
        );
        assert_eq!(
            parse_duration("5d").unwrap_err(),
            "\"5d\": unknown unit \"d\" (use ms, s, m or h)"
        );
        assert_eq!(
            parse_duration("1m30s1M").unwrap_err(),
            "\"1m30s1M\": unknown unit \"M\" (use ms, s, m or h)"
        );
        assert_eq!(
            parse_duration("1m 30s").unwrap_err(),
            "\"1m 30s\": expected a number, like 30s or 10m"
        );
        assert_eq!(
            parse_duration("1.5h").unwrap_err(),
            "\"1.5h\": expected a number, like 30s or 10m"
        );
        assert_eq!(
            parse_duration("soon").unwrap_err(),
            "\"soon\": expected a number, like 30s or 10m"
        );
        assert_eq!(
            parse_duration("99999999999999999999h").unwrap_err(),
            "\"99999999999999999999h\": number too large"
        );
        assert_eq!(parse_duration(" ").unwrap_err(), "empty duration");
        assert!(parse(&["--stall-after", "soon"]).is_err());
    }

    #[test]
    fn a_probe_timeout_longer_than_the_interval_is_refused() {
        let cli = parse(&["--probe-interval", "5s", "--probe-timeout", "10s"]).unwrap();
        assert_eq!(
            cli.validate().unwrap_err(),
            OptionsError::ProbeTimeoutTooLong {
                timeout: Duration::from_secs(10),
                interval: Duration::from_secs(5)
            }
        );
        let slow = parse(&["--probe-interval", "1m", "--probe-timeout", "1m30s"]).unwrap();
        assert_eq!(
            slow.validate().unwrap_err().to_string(),
            "--probe-timeout (1m30s) must not be longer than --probe-interval (1m)"
        );
        let zero = parse(&["--stall-after", "0s"]).unwrap();
        assert_eq!(
            zero.validate().unwrap_err(),
            OptionsError::ZeroDuration("stall-after")
        );
    }

    #[test]
    fn every_flag_parses() {
        let cli = parse(&[
            "--namespace",
            "shop",
            "--kubeconfig",
            "/k",
            "--context",
            "dev",
            "--no-probe",
            "--leader-elect",
            "--http-addr",
            "127.0.0.1:9090",
            "--release-namespace",
            "layer",
            "--document-cache-statefulset",
            "dc",
            "--max-replicas-ceiling",
            "50",
            "--resync-interval",
            "1m",
            "--api-timeout",
            "10s",
            "--lease-duration",
            "30s",
            "--lease-renew-before",
            "10s",
            "--max-concurrent-writes",
            "128",
            "--write-qps",
            "50",
            "--write-burst",
            "100",
            "--log-format",
            "text",
        ])
        .unwrap();
        assert_eq!(cli.namespace.as_deref(), Some("shop"));
        assert_eq!(cli.context.as_deref(), Some("dev"));
        assert_eq!(cli.release_namespace.as_deref(), Some("layer"));
        assert_eq!(cli.max_replicas_ceiling, 50);
        assert_eq!(cli.lease_duration, Duration::from_secs(30));
        assert_eq!(cli.max_concurrent_writes, 128);
        assert_eq!(cli.write_qps, 50.0);
        assert!(cli.validate().is_ok());
    }
}
