//! Human-readable rendering of an [`Evaluation`] for the `evaluate` command.

use std::fmt::Write;

use super::metrics::{Evaluation, Metrics, PairError};

fn line(m: &Metrics) -> String {
    format!(
        "P {:.3}  R {:.3}  F1 {:.3}  (tp {}, fp {}, fn {})",
        m.precision, m.recall, m.f1, m.tp, m.fp, m.fn_
    )
}

fn pair(out: &mut String, e: &PairError) {
    let _ = writeln!(out, "  {} vs {}", e.id_a, e.id_b);
    let _ = writeln!(out, "    a: {}", e.title_a);
    let _ = writeln!(out, "    b: {}", e.title_b);
    match &e.decision {
        Some(d) => {
            let _ = writeln!(
                out,
                "    {} by {} · combined {:.3} = date {:.3}·{:.2} + geo {:.3}·{:.2} + title {:.3}·{:.2} + desc {:.3}·{:.2}{}{}",
                d.decision.as_str(),
                d.rule.as_str(),
                d.combined,
                d.scores.date,
                d.weights.date,
                d.scores.geo,
                d.weights.geo,
                d.scores.title,
                d.weights.title,
                d.scores.description,
                d.weights.description,
                d.weight_source.as_deref().map(|c| format!(" (category_override:{c})")).unwrap_or_default(),
                if e.same_cluster { " · same cluster" } else { "" },
            );
            if let Some(cs) = &d.contributions {
                let top: Vec<String> = cs
                    .iter()
                    .take(6)
                    .map(|c| format!("{} {:+.2} (={:.2})", c.feature, c.contribution, c.value))
                    .collect();
                let _ = writeln!(out, "    p {:.3} · {}", d.combined, top.join(", "));
            }
        }
        None => {
            let _ = writeln!(
                out,
                "    not a candidate pair (no shared blocking key){}",
                if e.same_cluster {
                    " · same cluster"
                } else {
                    ""
                }
            );
        }
    }
}

pub fn render(e: &Evaluation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "labelled events {} · true pairs {} · true pairs sharing a blocking key {}",
        e.labelled_events, e.true_pairs, e.true_pairs_blocked
    );
    let _ = writeln!(out, "pairwise (match decisions):   {}", line(&e.decisions));
    let _ = writeln!(out, "pairwise (cluster membership): {}", line(&e.clusters));
    let _ = writeln!(
        out,
        "B-cubed: P {:.3}  R {:.3}  F1 {:.3}",
        e.bcubed_precision, e.bcubed_recall, e.bcubed_f1
    );
    let _ = writeln!(
        out,
        "\nper category (match decisions | cluster membership):"
    );
    for (c, m) in &e.per_category {
        let _ = writeln!(
            out,
            "  {c:<14} pairs {:>4}  P {:.3} R {:.3} F1 {:.3} | P {:.3} R {:.3} F1 {:.3}",
            m.true_pairs,
            m.decisions.precision,
            m.decisions.recall,
            m.decisions.f1,
            m.clusters.precision,
            m.clusters.recall,
            m.clusters.f1
        );
    }
    let _ = writeln!(out, "\nworst false merges ({}):", e.false_merges.len());
    e.false_merges.iter().for_each(|p| pair(&mut out, p));
    let _ = writeln!(out, "\nworst false splits ({}):", e.false_splits.len());
    e.false_splits.iter().for_each(|p| pair(&mut out, p));
    out
}
