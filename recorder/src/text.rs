//! Restate's printed forms, parsed once into types: node ids (`N3`, `N3:1`), nodesets
//! (`[N3, N1, N2]`), replication properties (`{node: 2}`) and the outcome of a `restatectl logs
//! seal` run. The parser ([`crate::parse`]), the cluster driver and the importer all read
//! Restate's text through these, so each form is parsed in one place.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::raw::CtlRecord;

/// A Restate node id as printed: plain (`N3`) or generational (`N3:1`, the node's third
/// incarnation is `N3:3`). The model's node ids know nothing of generations: the importer uses
/// [`RestateNode::id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RestateNode {
    /// The plain node id (`3` in `N3:1`).
    pub id: u32,
    /// The generation (`1` in `N3:1`), if printed.
    pub generation: Option<u32>,
}

impl RestateNode {
    /// Parses `N3` or `N3:1` (surrounding blanks allowed); `None` for anything else.
    pub fn parse(text: &str) -> Option<RestateNode> {
        let rest = text.trim().strip_prefix('N')?;
        let (id, generation) = match rest.split_once(':') {
            Some((id, g)) => (id, Some(g.parse().ok()?)),
            None => (rest, None),
        };
        Some(RestateNode {
            id: id.parse().ok()?,
            generation,
        })
    }
}

impl fmt::Display for RestateNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.generation {
            Some(g) => write!(f, "N{}:{g}", self.id),
            None => write!(f, "N{}", self.id),
        }
    }
}

impl Serialize for RestateNode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RestateNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        RestateNode::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("`{text}` is not a node id such as `N3` or `N3:1`"))
        })
    }
}

/// The plain node id of `N3` or `N3:1`.
pub fn plain_node_id(text: &str) -> Option<u32> {
    RestateNode::parse(text).map(|n| n.id)
}

/// Parses a printed nodeset such as `[N3, N1, N2]` into plain node ids, in printed order;
/// entries that are not node ids are skipped.
pub fn parse_nodeset(text: &str) -> Vec<u32> {
    text.trim()
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .filter_map(plain_node_id)
        .collect()
}

/// The factor of a node-level replication property: `{node: 2}` -> 2; `None` for other forms
/// (`{zone: 2}`, ...).
pub fn node_replication(text: &str) -> Option<u8> {
    text.trim()
        .strip_prefix('{')?
        .strip_suffix('}')?
        .trim()
        .strip_prefix("node:")?
        .trim()
        .parse()
        .ok()
}

/// Whether a `logs seal` run reported success (restatectl exits 0 even when the seal failed).
pub fn seal_succeeded(rec: &CtlRecord) -> bool {
    rec.exit == Some(0) && rec.stdout.contains("chain has been sealed")
}

/// The error text of a failed seal run, if restatectl printed one.
pub fn seal_error(rec: &CtlRecord) -> Option<String> {
    let all = format!("{}\n{}", rec.stdout, rec.stderr);
    all.lines()
        .find(|l| l.contains("ERROR") || l.contains("Error:"))
        .map(|l| l.trim().to_string())
        .or_else(|| (!seal_succeeded(rec)).then(|| all.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_parse_with_and_without_generation() {
        let n = RestateNode::parse("N3:1").unwrap();
        assert_eq!((n.id, n.generation), (3, Some(1)));
        assert_eq!(n.to_string(), "N3:1");
        assert_eq!(plain_node_id(" N12 "), Some(12));
        assert_eq!(plain_node_id("3"), None);
        assert_eq!(plain_node_id("N3:x"), None);
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"N3:1\"");
        assert_eq!(serde_json::from_str::<RestateNode>(&json).unwrap(), n);
    }

    #[test]
    fn nodesets_and_replication_parse() {
        assert_eq!(parse_nodeset("[N3, N1, N2]"), vec![3, 1, 2]);
        assert_eq!(parse_nodeset("[]"), Vec::<u32>::new());
        assert_eq!(node_replication("{node: 2}"), Some(2));
        assert_eq!(node_replication("{zone: 2}"), None);
    }
}
