//! Review constraints: human decisions that every later re-match must respect.
//!
//! A split stores cannot-links, a merge must-links, a dismissal the reviewed member
//! set. The pipeline applies them (`cluster`), so a new file can never silently undo
//! a reviewer's work.
//!
//! What a review action *means* as constraints is written once here, as pure
//! functions ([`split_rules`], [`merge_rules`], [`pair_dismiss_rules`],
//! [`reviewed_set`]); the store writes what they return and the API only calls them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewConstraints {
    /// Pairs of source event ids that must end up in one cluster.
    pub must_link: Vec<(String, String)>,
    /// Pairs of source event ids that must never share a cluster.
    pub cannot_link: Vec<(String, String)>,
    /// Member sets (sorted ids) a reviewer dismissed from the review queue: while a
    /// cluster has exactly these members it is not flagged again.
    pub reviewed: Vec<Vec<String>>,
}

impl ReviewConstraints {
    pub fn is_empty(&self) -> bool {
        self.must_link.is_empty() && self.cannot_link.is_empty() && self.reviewed.is_empty()
    }
}

/// Kind of a pair constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PairConstraint {
    MustLink,
    CannotLink,
}

impl PairConstraint {
    pub fn as_str(self) -> &'static str {
        match self {
            PairConstraint::MustLink => "must_link",
            PairConstraint::CannotLink => "cannot_link",
        }
    }

    /// The kind a newer decision of this kind replaces on the same pair: the latest
    /// reviewer decision wins, so a split after a merge removes the must-link and
    /// vice versa.
    pub fn opposite(self) -> PairConstraint {
        match self {
            PairConstraint::MustLink => PairConstraint::CannotLink,
            PairConstraint::CannotLink => PairConstraint::MustLink,
        }
    }
}

/// One pair constraint a review action stores, ids in code-point order (`a < b`,
/// as the table's CHECK on `COLLATE "C"` columns requires). Storing it removes the
/// [`PairConstraint::opposite`] constraint on the same pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PairRule {
    pub kind: PairConstraint,
    pub a: String,
    pub b: String,
}

impl PairRule {
    /// The rule between two different events (`None` for an event and itself).
    pub fn new(kind: PairConstraint, x: &str, y: &str) -> Option<PairRule> {
        let (a, b) = match x.cmp(y) {
            std::cmp::Ordering::Less => (x, y),
            std::cmp::Ordering::Greater => (y, x),
            std::cmp::Ordering::Equal => return None,
        };
        Some(PairRule {
            kind,
            a: a.to_string(),
            b: b.to_string(),
        })
    }
}

/// `kind` between every `x` of `left` and every `y` of `right`, in that order,
/// without self pairs and without repeating a pair.
fn between(kind: PairConstraint, left: &[String], right: &[String]) -> Vec<PairRule> {
    let mut seen = std::collections::HashSet::new();
    left.iter()
        .flat_map(|x| right.iter().filter_map(move |y| PairRule::new(kind, x, y)))
        .filter(|rule| seen.insert((rule.a.clone(), rule.b.clone())))
        .collect()
}

/// What a split means: the moved source must link to every member of the target
/// (when moved into one), then it cannot link to any member that stays behind.
pub fn split_rules(moved: &str, remaining: &[String], target: Option<&[String]>) -> Vec<PairRule> {
    let moved = [moved.to_string()];
    let mut rules = target
        .map(|t| between(PairConstraint::MustLink, &moved, t))
        .unwrap_or_default();
    rules.extend(between(PairConstraint::CannotLink, &moved, remaining));
    rules
}

/// What a merge means: every donor member must link to every target member.
pub fn merge_rules(donor: &[String], target: &[String]) -> Vec<PairRule> {
    between(PairConstraint::MustLink, donor, target)
}

/// What dismissing a missed-duplicate pair means: no member of one group may ever
/// share a cluster with a member of the other.
pub fn pair_dismiss_rules(members_a: &[String], members_b: &[String]) -> Vec<PairRule> {
    between(PairConstraint::CannotLink, members_a, members_b)
}

/// What dismissing a review item means: the member set (sorted, deduplicated) is
/// marked reviewed, so it is not flagged again while its membership stays; a single
/// member is never flagged, so it needs no marker (`None`).
pub fn reviewed_set(members: &[String]) -> Option<Vec<String>> {
    let mut set = members.to_vec();
    set.sort();
    set.dedup();
    (set.len() > 1).then_some(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PairConstraint::{CannotLink, MustLink};

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn rule(kind: PairConstraint, a: &str, b: &str) -> PairRule {
        PairRule::new(kind, a, b).expect("two ids")
    }

    #[test]
    fn a_pair_rule_orders_its_ids_by_code_point_and_refuses_a_self_pair() {
        let r = rule(MustLink, "b", "B");
        assert_eq!((r.a.as_str(), r.b.as_str()), ("B", "b"));
        assert_eq!(PairRule::new(CannotLink, "x", "x"), None);
    }

    #[test]
    fn the_newer_decision_replaces_the_opposite_kind() {
        assert_eq!(MustLink.opposite(), CannotLink);
        assert_eq!(CannotLink.opposite(), MustLink);
    }

    #[test]
    fn split_into_a_target_must_links_the_target_then_cannot_links_the_rest() {
        let rules = split_rules("s", &ids(&["a", "z"]), Some(&ids(&["t1", "t2"])));
        assert_eq!(
            rules,
            vec![
                rule(MustLink, "s", "t1"),
                rule(MustLink, "s", "t2"),
                rule(CannotLink, "a", "s"),
                rule(CannotLink, "s", "z"),
            ]
        );
    }

    #[test]
    fn split_into_a_new_group_only_cannot_links_the_remaining_members() {
        assert_eq!(
            split_rules("s", &ids(&["a", "s"]), None),
            vec![rule(CannotLink, "a", "s")]
        );
        assert!(split_rules("s", &[], None).is_empty());
    }

    #[test]
    fn merge_must_links_every_donor_with_every_target_member_once() {
        let rules = merge_rules(&ids(&["d1", "d2", "d1"]), &ids(&["t"]));
        assert_eq!(
            rules,
            vec![rule(MustLink, "d1", "t"), rule(MustLink, "d2", "t")]
        );
    }

    #[test]
    fn dismissing_a_pair_cannot_links_across_the_groups() {
        let rules = pair_dismiss_rules(&ids(&["a1", "a2"]), &ids(&["b"]));
        assert_eq!(
            rules,
            vec![rule(CannotLink, "a1", "b"), rule(CannotLink, "a2", "b")]
        );
    }

    #[test]
    fn a_reviewed_set_is_sorted_and_needs_two_members() {
        assert_eq!(reviewed_set(&ids(&["y", "x", "y"])), Some(ids(&["x", "y"])));
        assert_eq!(reviewed_set(&ids(&["x", "x"])), None);
    }
}
