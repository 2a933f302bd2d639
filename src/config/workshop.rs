//! The Workshop service's settings: plan caps, output limits and the
//! session gap, as flags and as the checked policy the service reads.

use std::time::Duration;

use clap::Args;

/// Default of `--workshop-plan-caps`.
pub const DEFAULT_WORKSHOP_PLAN_CAPS: &str = "free=3,pro=50";
/// Default of `--workshop-default-plan`.
pub const DEFAULT_WORKSHOP_PLAN: &str = "free";
/// Default of `--step-output-max-bytes`: 256 KiB of JSON.
pub const DEFAULT_STEP_OUTPUT_MAX_BYTES: u64 = 256 * 1024;
/// Default of `--session-gap-secs`: 30 minutes.
pub const DEFAULT_SESSION_GAP_SECS: u64 = 30 * 60;

/// Settings of the Workshop service.
#[derive(Debug, Clone, Args)]
pub struct WorkshopConfig {
    /// How many workshops a user of each plan may own, comma separated
    /// `plan=cap` pairs. The plan comes from `x-user-plan`.
    #[arg(long, env = "ATELIER_WORKSHOP_PLAN_CAPS", default_value = DEFAULT_WORKSHOP_PLAN_CAPS,
          value_parser = parse_plan_cap, value_delimiter = ',')]
    pub workshop_plan_caps: Vec<(String, u32)>,

    /// The plan of a user whose `x-user-plan` is absent or unknown; it must
    /// have a cap.
    #[arg(long, env = "ATELIER_WORKSHOP_DEFAULT_PLAN", default_value = DEFAULT_WORKSHOP_PLAN)]
    pub workshop_default_plan: String,

    /// Largest step output, in bytes of its JSON encoding.
    #[arg(long, env = "ATELIER_STEP_OUTPUT_MAX_BYTES", default_value_t = DEFAULT_STEP_OUTPUT_MAX_BYTES,
          value_parser = clap::value_parser!(u64).range(2..=4 * 1024 * 1024))]
    pub step_output_max_bytes: u64,

    /// Seconds without a step change after which the next change starts a
    /// new work session.
    #[arg(long, env = "ATELIER_SESSION_GAP_SECS", default_value_t = DEFAULT_SESSION_GAP_SECS,
          value_parser = clap::value_parser!(u64).range(1..=7 * 24 * 3600))]
    pub session_gap_secs: u64,
}

fn parse_plan_cap(raw: &str) -> Result<(String, u32), String> {
    let (plan, cap) = raw
        .split_once('=')
        .ok_or_else(|| format!("`{raw}` is not `plan=cap`"))?;
    let plan = plan.trim().to_ascii_lowercase();
    if plan.is_empty() {
        return Err(format!("`{raw}` names no plan"));
    }
    let cap = cap
        .trim()
        .parse()
        .map_err(|_| format!("the cap in `{raw}` is not a whole number"))?;
    Ok((plan, cap))
}

impl WorkshopConfig {
    /// The checked policy: the default plan must have a cap.
    pub fn policy(&self) -> Result<WorkshopPolicy, String> {
        let default_plan = self.workshop_default_plan.trim().to_ascii_lowercase();
        let plan_caps: std::collections::BTreeMap<String, u32> =
            self.workshop_plan_caps.iter().cloned().collect();
        if !plan_caps.contains_key(&default_plan) {
            return Err(format!(
                "the default workshop plan `{default_plan}` has no cap in --workshop-plan-caps"
            ));
        }
        Ok(WorkshopPolicy {
            plan_caps,
            default_plan,
            step_output_max_bytes: usize::try_from(self.step_output_max_bytes)
                .unwrap_or(usize::MAX),
            session_gap: Duration::from_secs(self.session_gap_secs),
        })
    }
}

/// The Workshop service's rules, from [`WorkshopConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkshopPolicy {
    /// Owned-workshop cap per plan.
    pub plan_caps: std::collections::BTreeMap<String, u32>,
    /// The plan of users whose plan is absent or unknown.
    pub default_plan: String,
    /// Largest step output (JSON bytes).
    pub step_output_max_bytes: usize,
    /// Inactivity that ends a work session.
    pub session_gap: Duration,
}

impl WorkshopPolicy {
    /// The plan that applies to a caller who sent `plan`, and its cap.
    pub fn cap_for(&self, plan: Option<&str>) -> (&str, u32) {
        let known = plan.and_then(|p| self.plan_caps.get_key_value(p));
        let (plan, cap) = known
            .or_else(|| self.plan_caps.get_key_value(&self.default_plan))
            .map_or(("", 0), |(plan, cap)| (plan.as_str(), *cap));
        (plan, cap)
    }
}

/// The policy of a server started with no Workshop flags (the tests and
/// the benchmark start from it).
impl Default for WorkshopPolicy {
    fn default() -> Self {
        Self {
            plan_caps: DEFAULT_WORKSHOP_PLAN_CAPS
                .split(',')
                .filter_map(|pair| parse_plan_cap(pair).ok())
                .collect(),
            default_plan: DEFAULT_WORKSHOP_PLAN.to_owned(),
            step_output_max_bytes: usize::try_from(DEFAULT_STEP_OUTPUT_MAX_BYTES)
                .unwrap_or(usize::MAX),
            session_gap: Duration::from_secs(DEFAULT_SESSION_GAP_SECS),
        }
    }
}
