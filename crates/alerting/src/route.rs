//! The routing tree: which routes (and so which receivers and timers) an alert goes to.
//! Children inherit unset options from their parent; an alert descends into the first
//! matching child (and further siblings while `continue` is set); a route none of whose
//! children match takes the alert itself.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_saphyr::Spanned;

use crate::alert::LabelSet;
use crate::config::{RouteConfig, build_matchers};
use crate::matcher::{Matcher, all_match, matchers_to_string};
use crate::time::{Millis, millis};

/// Options an alert's aggregation group is run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteOpts {
    /// Receiver name.
    pub receiver: String,
    /// Labels grouped by.
    pub group_by: BTreeSet<String>,
    /// `...`: group by every label.
    pub group_by_all: bool,
    /// ms.
    pub group_wait: Millis,
    /// ms.
    pub group_interval: Millis,
    /// ms.
    pub repeat_interval: Millis,
    /// Names of mute intervals.
    pub mute_time_intervals: Vec<String>,
    /// Names of active intervals.
    pub active_time_intervals: Vec<String>,
    /// tocsin: per-route send_resolved override.
    pub send_resolved: Option<bool>,
    /// tocsin: notify only what changed.
    pub notify_only_changes: bool,
}

/// One node.
#[derive(Debug)]
pub struct Route {
    /// Alertmanager's route key (`{}/{severity="page"}`), part of group keys.
    pub key: String,
    /// Options.
    pub opts: RouteOpts,
    /// Matchers.
    pub matchers: Vec<Matcher>,
    /// `continue`.
    pub continue_matching: bool,
    /// Children.
    pub routes: Vec<Arc<Self>>,
}

impl Route {
    /// Builds the tree from a validated configuration.
    pub fn from_config(root: &Spanned<RouteConfig>) -> Arc<Self> {
        let defaults = RouteOpts {
            receiver: String::new(),
            group_by: BTreeSet::new(),
            group_by_all: false,
            group_wait: 30_000,
            group_interval: 300_000,
            repeat_interval: 4 * 3_600_000,
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
            send_resolved: None,
            notify_only_changes: false,
        };
        build(&root.value, &defaults, None)
    }

    /// The routes `labels` goes to, depth-first.
    pub fn matches(self: &Arc<Self>, labels: &LabelSet) -> Vec<Arc<Self>> {
        if !all_match(&self.matchers, labels) {
            return Vec::new();
        }
        let mut all = Vec::new();
        for child in &self.routes {
            let found = child.matches(labels);
            let matched = !found.is_empty();
            all.extend(found);
            if matched && !child.continue_matching {
                break;
            }
        }
        if all.is_empty() {
            all.push(Arc::clone(self));
        }
        all
    }

    /// Every route, depth-first.
    pub fn walk(self: &Arc<Self>, visit: &mut dyn FnMut(&Arc<Self>)) {
        visit(self);
        for child in &self.routes {
            child.walk(visit);
        }
    }

    /// The labels of `labels` this route groups by.
    pub fn group_labels(&self, labels: &LabelSet) -> LabelSet {
        labels
            .iter()
            .filter(|(name, _)| self.opts.group_by_all || self.opts.group_by.contains(*name))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    }
}

fn build(config: &RouteConfig, parent: &RouteOpts, parent_key: Option<&str>) -> Arc<Route> {
    let mut opts = parent.clone();
    // Intervals, like matchers, belong to the route that names them.
    opts.mute_time_intervals = config.mute_time_intervals.clone();
    opts.active_time_intervals = config.active_time_intervals.clone();
    if let Some(receiver) = &config.receiver {
        opts.receiver = receiver.value.clone();
    }
    if let Some(group_by) = &config.group_by {
        opts.group_by_all = group_by.iter().any(|g| g == "...");
        opts.group_by = group_by.iter().filter(|g| *g != "...").cloned().collect();
    }
    if let Some(d) = config.group_wait {
        opts.group_wait = millis(d);
    }
    if let Some(d) = config.group_interval {
        opts.group_interval = millis(d);
    }
    if let Some(d) = config.repeat_interval {
        opts.repeat_interval = millis(d);
    }
    if config.send_resolved.is_some() {
        opts.send_resolved = config.send_resolved;
    }
    if let Some(only) = config.notify_only_changes {
        opts.notify_only_changes = only;
    }
    // Validation ran before; a failure here leaves the route without matchers.
    let matchers =
        build_matchers(&config.match_equal, &config.match_re, &config.matchers).unwrap_or_default();
    let own = matchers_to_string(&matchers);
    let key = match parent_key {
        Some(parent) => format!("{parent}/{own}"),
        None => own,
    };
    let routes = config
        .routes
        .iter()
        .map(|child| build(&child.value, &opts, Some(&key)))
        .collect();
    Arc::new(Route {
        key,
        opts,
        matchers,
        continue_matching: config.continue_matching,
        routes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AlertmanagerConfig;

    fn tree(yaml: &str) -> Arc<Route> {
        let cfg = AlertmanagerConfig::parse("t.yml", yaml).unwrap();
        Route::from_config(&cfg.route)
    }

    fn ls(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    const YAML: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  routes:
    - matchers: ['severity="page"']
      receiver: pager
      continue: true
      group_wait: 10s
    - match: {team: db}
      receiver: db
      group_by: ['...']
      routes:
        - match_re: {service: "pg.*"}
          receiver: pg
receivers: [{name: default}, {name: pager}, {name: db}, {name: pg}]
"#;

    #[test]
    fn matching_follows_alertmanager() {
        let root = tree(YAML);
        let names = |labels: &LabelSet| -> Vec<String> {
            root.matches(labels)
                .iter()
                .map(|r| r.opts.receiver.clone())
                .collect()
        };
        assert_eq!(names(&ls(&[("a", "b")])), ["default"]);
        assert_eq!(
            names(&ls(&[("severity", "page"), ("team", "db")])),
            ["pager", "db"]
        );
        assert_eq!(names(&ls(&[("team", "db"), ("service", "pg1")])), ["pg"]);
        let pg = &root.matches(&ls(&[("team", "db"), ("service", "pg1")]))[0];
        assert_eq!(pg.key, r#"{}/{team="db"}/{service=~"pg.*"}"#);
        assert!(pg.opts.group_by_all, "inherited");
        let pager = &root.matches(&ls(&[("severity", "page")]))[0];
        assert_eq!(pager.opts.group_wait, 10_000);
        assert_eq!(pager.opts.repeat_interval, 4 * 3_600_000);
        assert_eq!(
            pager.group_labels(&ls(&[("alertname", "X"), ("severity", "page")])),
            ls(&[("alertname", "X")])
        );
    }
}
