//! Per-run figures, their medians per contender, the printed table and the results file.

use serde::Serialize;

/// One measured phase of one contender.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Run {
    pub(crate) contender: String,
    pub(crate) round: usize,
    pub(crate) requests: u64,
    pub(crate) seconds: f64,
    pub(crate) req_per_s: f64,
    pub(crate) p50_us: u32,
    pub(crate) p99_us: u32,
    pub(crate) server_cpu_us_per_req: f64,
    pub(crate) backend_cpu_us_per_req: f64,
    /// The load generator's own CPU: near 1 s per second means it, not the server, set the pace.
    pub(crate) load_cpu_us_per_req: f64,
    pub(crate) peak_rss_kib: u64,
    /// Failed requests (wrong count, lost cookie, error status), warm-up included.
    pub(crate) errors: u64,
    pub(crate) failures: Vec<String>,
}

impl Run {
    fn cpu_us_per_req(&self) -> f64 {
        self.server_cpu_us_per_req + self.backend_cpu_us_per_req
    }

    pub(crate) fn is_valid(&self) -> bool {
        self.errors == 0 && self.requests > 0
    }
}

/// A contender's medians over its rounds.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Summary {
    pub(crate) contender: String,
    pub(crate) about: String,
    pub(crate) backend: String,
    pub(crate) rounds: usize,
    /// Every round's every response was as expected.
    pub(crate) verified: bool,
    pub(crate) req_per_s: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    pub(crate) server_cpu_us_per_req: f64,
    pub(crate) backend_cpu_us_per_req: f64,
    /// Server plus backend.
    pub(crate) cpu_us_per_req: f64,
    pub(crate) peak_rss_mib: f64,
    /// req/s divided by bare's req/s.
    pub(crate) req_per_s_x_base: Option<f64>,
    /// Bare's CPU µs per request divided by this contender's (server plus backend).
    pub(crate) cpu_x_base: Option<f64>,
}

/// The medians of `runs` for one contender (ratios filled in by [`with_ratios`]).
pub(crate) fn summarize(name: &str, about: &str, backend: &str, runs: &[&Run]) -> Summary {
    let median_of = |f: &dyn Fn(&Run) -> f64| median(runs.iter().map(|r| f(r)).collect());
    Summary {
        contender: name.to_owned(),
        about: about.to_owned(),
        backend: backend.to_owned(),
        rounds: runs.len(),
        verified: !runs.is_empty() && runs.iter().all(|r| r.is_valid()),
        req_per_s: median_of(&|r| r.req_per_s),
        p50_us: median_of(&|r| f64::from(r.p50_us)),
        p99_us: median_of(&|r| f64::from(r.p99_us)),
        server_cpu_us_per_req: median_of(&|r| r.server_cpu_us_per_req),
        backend_cpu_us_per_req: median_of(&|r| r.backend_cpu_us_per_req),
        cpu_us_per_req: median_of(&|r| r.cpu_us_per_req()),
        peak_rss_mib: median_of(&|r| r.peak_rss_kib as f64 / 1024.0),
        req_per_s_x_base: None,
        cpu_x_base: None,
    }
}

/// Fills in every summary's ratios to the `bare` contender, when bare was measured.
pub(crate) fn with_ratios(mut summaries: Vec<Summary>) -> Vec<Summary> {
    let Some(bare) = summaries.iter().find(|s| s.contender == "bare").cloned() else {
        return summaries;
    };
    for s in &mut summaries {
        s.req_per_s_x_base = Some(s.req_per_s / bare.req_per_s);
        s.cpu_x_base = Some(bare.cpu_us_per_req / s.cpu_us_per_req);
    }
    summaries
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// The `q` quantile (0..=1) of latencies, in µs.
pub(crate) fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// The summaries as a Markdown table.
pub(crate) fn table(summaries: &[Summary]) -> String {
    let mut out = String::from(
        "| contender | req/s | req/s ×bare | p50 µs | p99 µs | server µs/req | backend µs/req | cpu ×base | peak RSS MiB | verified |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n",
    );
    for s in summaries {
        out.push_str(&format!(
            "| {} | {:.0} | {} | {:.0} | {:.0} | {:.1} | {} | {} | {:.1} | {} |\n",
            s.contender,
            s.req_per_s,
            ratio(s.req_per_s_x_base),
            s.p50_us,
            s.p99_us,
            s.server_cpu_us_per_req,
            if s.backend == "none" {
                "–".to_owned()
            } else {
                format!("{:.1}", s.backend_cpu_us_per_req)
            },
            ratio(s.cpu_x_base),
            s.peak_rss_mib,
            if s.verified { "yes" } else { "NO" },
        ));
    }
    out
}

fn ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_quantiles() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        let sorted: Vec<u32> = (1..=100).collect();
        assert_eq!(quantile(&sorted, 0.5), 51);
        assert_eq!(quantile(&sorted, 0.99), 99);
    }
}
