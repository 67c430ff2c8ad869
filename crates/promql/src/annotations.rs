//! Warnings and infos a query reports alongside its result, deduplicated by message as
//! Prometheus does.

/// A query's annotations, each already worded with the `PromQL warning:`/`PromQL info:`
/// prefix and the position of the expression it is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    /// Warnings: the result may be incomplete or wrong.
    pub warnings: Vec<String>,
    /// Infos: the query may not do what was meant.
    pub infos: Vec<String>,
}

impl Annotations {
    pub(crate) fn warn(&mut self, msg: String) {
        if !self.warnings.contains(&msg) {
            self.warnings.push(msg);
        }
    }

    pub(crate) fn info(&mut self, msg: String) {
        if !self.infos.contains(&msg) {
            self.infos.push(msg);
        }
    }
}
