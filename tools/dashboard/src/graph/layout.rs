//! A layered drawing of the graph for the SVG of `/`: callers on the left, callees on the right.
//! Each node's column is the longest chain of callers before it (so the gateway and outside
//! callers come first, then productpage, reviews, ratings); inside a column, nodes are sorted by
//! app and version, so the versions of one app stand together.

use std::collections::{HashMap, HashSet};

use super::model::{EdgeState, Graph};

const NODE_WIDTH: f64 = 150.0;
const NODE_HEIGHT: f64 = 46.0;
const COLUMN_STRIDE: f64 = 370.0;
const ROW_STRIDE: f64 = 78.0;
const MARGIN: f64 = 24.0;

pub struct Drawing {
    pub width: f64,
    pub height: f64,
    pub nodes: Vec<DrawnNode>,
    pub edges: Vec<DrawnEdge>,
}

pub struct DrawnNode {
    pub id: String,
    pub workload: String,
    pub namespace: String,
    /// `reviews v2`.
    pub subtitle: String,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub unknown: bool,
}

pub struct DrawnEdge {
    pub source: String,
    pub destination: String,
    /// The SVG path, a curve from the caller's right side to the callee's left side.
    pub path: String,
    pub label_x: f64,
    pub label_y: f64,
    /// `start` (label after the caller), `end` (before the callee), `middle` (a bent edge).
    pub label_anchor: &'static str,
    /// `12.0 rps · 20.0 % err · p99 23 ms`.
    pub label: String,
    /// `healthy`, `degraded`, `failing`, `idle`: the CSS class `edge-<state>`.
    pub state: &'static str,
    /// The CSS class `slow` (see [`super::model::SLOW_P99_MS`]).
    pub slow: bool,
    /// The p99 in milliseconds, for the `data-p99-ms` attribute; `None` when idle.
    pub p99_ms: Option<f64>,
    /// The edge's failed traces, for an edge with errors.
    pub traces_href: Option<String>,
}

/// Column of each node: the length of the longest chain of callers leading to it, over the
/// edges that do not close a cycle (a calls b calls a), which are left out first.
fn columns(graph: &Graph) -> HashMap<&str, usize> {
    let back = back_edges(graph);
    let mut column: HashMap<&str, usize> = graph.nodes.iter().map(|n| (n.id.as_str(), 0)).collect();
    // Without cycles, a longest path has fewer edges than there are nodes: that many passes.
    for _ in 0..graph.nodes.len() {
        let mut changed = false;
        for (index, edge) in graph.edges.iter().enumerate() {
            if back.contains(&index) {
                continue;
            }
            let from = column.get(edge.source.as_str()).copied().unwrap_or(0);
            let to = column.entry(edge.destination.as_str()).or_insert(0);
            if *to < from + 1 {
                *to = from + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    column
}

/// The edges that lead back to a node on the current path of a depth-first walk started from
/// the nodes nobody calls: removing them leaves no cycle.
fn back_edges(graph: &Graph) -> HashSet<usize> {
    let mut outgoing: HashMap<&str, Vec<(usize, &str)>> = HashMap::new();
    for (index, edge) in graph.edges.iter().enumerate() {
        outgoing
            .entry(edge.source.as_str())
            .or_default()
            .push((index, edge.destination.as_str()));
    }
    let called: HashSet<&str> = graph.edges.iter().map(|e| e.destination.as_str()).collect();
    let starts = graph
        .nodes
        .iter()
        .filter(|n| !called.contains(n.id.as_str()))
        .chain(&graph.nodes);
    let mut on_path = HashSet::new();
    let mut done = HashSet::new();
    let mut back = HashSet::new();
    for start in starts {
        // An explicit stack of (node, next outgoing edge to look at).
        let mut stack = vec![(start.id.as_str(), 0)];
        if done.contains(start.id.as_str()) {
            continue;
        }
        on_path.insert(start.id.as_str());
        while let Some((node, next)) = stack.last_mut() {
            let edges = outgoing.get(*node).map(Vec::as_slice).unwrap_or_default();
            if let Some(&(index, to)) = edges.get(*next) {
                *next += 1;
                if on_path.contains(to) {
                    back.insert(index);
                } else if !done.contains(to) {
                    on_path.insert(to);
                    stack.push((to, 0));
                }
            } else {
                on_path.remove(*node);
                done.insert(*node);
                stack.pop();
            }
        }
    }
    back
}

pub fn draw(graph: &Graph) -> Drawing {
    let column = columns(graph);
    let mut by_column: Vec<Vec<&super::model::Node>> = Vec::new();
    for node in &graph.nodes {
        let c = column.get(node.id.as_str()).copied().unwrap_or(0);
        if by_column.len() <= c {
            by_column.resize_with(c + 1, Vec::new);
        }
        by_column[c].push(node);
    }
    let mut nodes = Vec::new();
    let mut centre: HashMap<&str, (f64, f64)> = HashMap::new();
    for (c, list) in by_column.iter_mut().enumerate() {
        list.sort_by(|a, b| {
            (&a.workload.app, &a.workload.version, &a.id).cmp(&(
                &b.workload.app,
                &b.workload.version,
                &b.id,
            ))
        });
        for (row, node) in list.iter().enumerate() {
            let x = MARGIN + c as f64 * COLUMN_STRIDE;
            let y = MARGIN + row as f64 * ROW_STRIDE;
            centre.insert(node.id.as_str(), (x, y + NODE_HEIGHT / 2.0));
            nodes.push(DrawnNode {
                id: node.id.clone(),
                workload: node.workload.name.clone(),
                namespace: node.workload.namespace.clone(),
                subtitle: format!("{} {}", node.workload.app, node.workload.version),
                x,
                y,
                width: NODE_WIDTH,
                height: NODE_HEIGHT,
                unknown: node.workload.is_unknown(),
            });
        }
    }
    // Each label goes at the end of its edge where fewer edges meet, so that a caller's fan of
    // calls is labelled at the callees, and callers converging on one callee at the callers.
    let mut outgoing: HashMap<&str, usize> = HashMap::new();
    let mut incoming: HashMap<&str, usize> = HashMap::new();
    for edge in &graph.edges {
        *outgoing.entry(edge.source.as_str()).or_default() += 1;
        *incoming.entry(edge.destination.as_str()).or_default() += 1;
    }
    let edges = graph
        .edges
        .iter()
        .filter_map(|edge| {
            let &(sx, sy) = centre.get(edge.source.as_str())?;
            let &(dx, dy) = centre.get(edge.destination.as_str())?;
            let (x1, x2) = (sx + NODE_WIDTH, dx);
            // A call to the same or an earlier column bends below the nodes.
            let bend = if x2 > x1 { 0.0 } else { ROW_STRIDE };
            let path = format!(
                "M{x1:.1},{sy:.1} C{:.1},{:.1} {:.1},{:.1} {x2:.1},{dy:.1}",
                x1 + 70.0,
                sy + bend,
                x2 - 70.0,
                dy + bend
            );
            let at_callee =
                outgoing.get(edge.source.as_str()) > incoming.get(edge.destination.as_str());
            let (label_x, label_y, label_anchor) = if bend > 0.0 {
                ((x1 + x2) / 2.0, (sy + dy) / 2.0 + bend * 0.75, "middle")
            } else if at_callee {
                (x2 - 12.0, dy - 7.0, "end")
            } else {
                (x1 + 8.0, sy - 7.0, "start")
            };
            Some(DrawnEdge {
                source: edge.source_workload.clone(),
                destination: edge.destination_workload.clone(),
                path,
                label_x,
                label_y,
                label_anchor,
                label: edge_label(edge),
                state: edge.state.as_str(),
                slow: edge.slow,
                p99_ms: edge.p99_ms,
                traces_href: (edge.error_rps > 0.0).then(|| traces_href(edge)),
            })
        })
        .collect();
    let columns = by_column.len().max(1) as f64;
    let rows = by_column.iter().map(Vec::len).max().unwrap_or(1).max(1) as f64;
    Drawing {
        width: MARGIN * 2.0 + (columns - 1.0) * COLUMN_STRIDE + NODE_WIDTH,
        height: MARGIN * 2.0 + (rows - 1.0) * ROW_STRIDE + NODE_HEIGHT + ROW_STRIDE,
        nodes,
        edges,
    }
}

/// `/traces?from=<caller>&to=<callee>&error=1`: the failed traces through an edge.
fn traces_href(edge: &super::model::Edge) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("from", &edge.source_workload)
        .append_pair("to", &edge.destination_workload)
        .append_pair("error", "1")
        .finish();
    format!("/traces?{query}")
}

fn edge_label(edge: &super::model::Edge) -> String {
    if edge.state == EdgeState::Idle {
        return "idle".to_string();
    }
    let mut label = format!("{:.1} rps", edge.rps);
    if edge.error_rps > 0.0 {
        label.push_str(&format!(" · {:.1} % err", edge.error_rate * 100.0));
    }
    if let Some(p99) = edge.p99_ms {
        label.push_str(&format!(" · p99 {p99:.0} ms"));
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::model::{Signals, Traffic, Workload};

    fn traffic(from: &str, to: &str, rps: f64) -> Traffic {
        let workload = |name: &str| Workload {
            namespace: "default".into(),
            name: name.into(),
            app: name.split('-').next().unwrap_or(name).into(),
            version: name.rsplit('-').next().unwrap_or(name).into(),
        };
        Traffic {
            source: workload(from),
            destination: workload(to),
            service: to.into(),
            signals: Signals {
                rps,
                ..Signals::default()
            },
        }
    }

    #[test]
    fn callers_stand_left_of_callees_and_versions_together() {
        let graph = Graph::from_traffic(
            "scrape",
            10,
            &[
                traffic("unknown", "productpage-v1", 1.0),
                traffic("productpage-v1", "reviews-v2", 1.0),
                traffic("productpage-v1", "reviews-v1", 0.0),
                traffic("reviews-v2", "ratings-v1", 1.0),
                // A cycle must not break the layout.
                traffic("ratings-v1", "productpage-v1", 1.0),
            ],
        );
        let drawing = draw(&graph);
        let x = |name: &str| {
            drawing
                .nodes
                .iter()
                .find(|n| n.workload == name)
                .map(|n| (n.x, n.y))
                .unwrap()
        };
        assert!(x("unknown").0 < x("productpage-v1").0);
        assert!(x("productpage-v1").0 < x("reviews-v2").0);
        assert!(x("reviews-v2").0 < x("ratings-v1").0);
        assert_eq!(x("reviews-v1").0, x("reviews-v2").0);
        assert!(x("reviews-v1").1 < x("reviews-v2").1);
        assert_eq!(drawing.edges.len(), 5);
        let idle = drawing
            .edges
            .iter()
            .find(|e| e.destination == "reviews-v1")
            .unwrap();
        assert_eq!((idle.state, idle.label.as_str()), ("idle", "idle"));
    }
}
