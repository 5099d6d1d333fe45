//! Prometheus metrics, kept in process: request counts and latency
//! histograms by route and status. Hand-rolled to keep the dependency set
//! small; the text format is simple and stable.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

pub struct PoolUse {
    pub connections: u32,
    pub idle: u32,
    pub max: u32,
    /// With read standbys: reads that can lag, by the server that answered.
    pub reads_served: Vec<(&'static str, u64)>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let Ok(mut map) = self.series.lock() else {
            return;
        };
        let s = map
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                s.buckets[i] += 1;
            }
        }
    }

    pub fn render(&self, pool: &PoolUse) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP registry_http_requests_total HTTP requests answered."
        );
        let _ = writeln!(out, "# TYPE registry_http_requests_total counter");
        let Ok(map) = self.series.lock() else {
            return out;
        };
        for ((method, route, status), s) in map.iter() {
            let _ = writeln!(
                out,
                "registry_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP registry_http_request_duration_seconds Time to answer."
        );
        let _ = writeln!(
            out,
            "# TYPE registry_http_request_duration_seconds histogram"
        );
        for ((method, route, status), s) in map.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "registry_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "registry_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "registry_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "registry_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        render_pool(&mut out, pool);
        out
    }
}

/// The pool's connections and, with read standbys, who served reads.
fn render_pool(out: &mut String, pool: &PoolUse) {
    let _ = writeln!(
        out,
        "# HELP registry_db_pool_connections Database connections by state."
    );
    let _ = writeln!(out, "# TYPE registry_db_pool_connections gauge");
    let in_use = pool.connections.saturating_sub(pool.idle);
    let _ = writeln!(
        out,
        "registry_db_pool_connections{{state=\"idle\"}} {}",
        pool.idle
    );
    let _ = writeln!(
        out,
        "registry_db_pool_connections{{state=\"in_use\"}} {in_use}"
    );
    let _ = writeln!(
        out,
        "# HELP registry_db_pool_max_connections Pool size limit."
    );
    let _ = writeln!(out, "# TYPE registry_db_pool_max_connections gauge");
    let _ = writeln!(out, "registry_db_pool_max_connections {}", pool.max);
    if !pool.reads_served.is_empty() {
        let _ = writeln!(
            out,
            "# HELP registry_reads_served_total Reads that can lag, by the server that answered."
        );
        let _ = writeln!(out, "# TYPE registry_reads_served_total counter");
        for (server, n) in &pool.reads_served {
            let _ = writeln!(
                out,
                "registry_reads_served_total{{server=\"{server}\"}} {n}"
            );
        }
    }
}
