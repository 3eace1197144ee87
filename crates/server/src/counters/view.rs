//! What `/Counters` and the periodic counter log show of the counters: the seed's
//! `reset` (every cumulative counter starts again from zero) and `content=all|new|set`.
//!
//! The counters themselves never go back: a reset records each cumulative counter's value
//! as its baseline and the views subtract it, so a reset through `/Counters` does not
//! break the rates that Prometheus computes from `/metrics`. `new` is "changed since this
//! reader last looked": `/Counters` and the log each keep what they last saw. All of this
//! is behind one mutex that only these two readers take, never the message path.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::Kind;

/// One counter's value as a reader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Its `/Counters` name (`group.name` inside a group).
    pub name: &'static str,
    /// Cumulative or gauge.
    pub kind: Kind,
    /// The value (since the start, before [`ViewState::read`]; since the last reset after).
    pub value: u64,
}

/// `content` of `/Counters` and `log-output-content`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Content {
    /// Every counter.
    #[default]
    All,
    /// The counters that changed since this reader last looked.
    New,
    /// The counters that are not zero.
    Set,
}

/// Who reads: each keeps its own idea of what is `new`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// `GET /Counters`.
    Http,
    /// The periodic log (`[health-service] log-output-*`).
    Log,
}

/// Reset baselines and what each reader last saw.
#[derive(Debug, Default)]
pub struct ViewState(Mutex<Inner>);

#[derive(Debug, Default)]
struct Inner {
    baselines: HashMap<&'static str, u64>,
    seen_http: HashMap<&'static str, u64>,
    seen_log: HashMap<&'static str, u64>,
}

impl ViewState {
    /// Resets every cumulative counter in `raw` (values since the start) to zero.
    pub fn reset(&self, raw: &[Reading]) {
        let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for r in raw.iter().filter(|r| r.kind == Kind::Cumulative) {
            inner.baselines.insert(r.name, r.value);
        }
    }

    /// The readings `reader` is shown for `content` (values since the last reset), and
    /// whether any value changed since it last looked. Remembers what it saw.
    pub fn read(&self, raw: &[Reading], content: Content, reader: Reader) -> (Vec<Reading>, bool) {
        let mut inner = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let shown: Vec<Reading> = raw
            .iter()
            .map(|r| Reading {
                value: r
                    .value
                    .saturating_sub(inner.baselines.get(r.name).copied().unwrap_or(0)),
                ..*r
            })
            .collect();
        let seen = match reader {
            Reader::Http => &mut inner.seen_http,
            Reader::Log => &mut inner.seen_log,
        };
        let mut changed = false;
        let mut out = Vec::with_capacity(shown.len());
        for r in shown {
            let before = seen.insert(r.name, r.value).unwrap_or(0);
            let is_new = before != r.value;
            // Process memory moves by a page now and then whatever happens: alone, it
            // does not make a `log-output-proviso = update` print due.
            changed |= is_new && r.name != super::PROCESS_MEMORY;
            let keep = match content {
                Content::All => true,
                Content::Set => r.value != 0,
                Content::New => is_new,
            };
            if keep {
                out.push(r);
            }
        }
        (out, changed)
    }
}

/// The readings as a JSON object: `group.name` goes to `{"group": {"name": …}}`.
pub fn to_json(readings: &[Reading]) -> Map<String, Value> {
    let mut out = Map::new();
    for r in readings {
        match r.name.split_once('.') {
            Some((group, name)) => {
                let g = out
                    .entry(group)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(g) = g {
                    g.insert(name.to_owned(), r.value.into());
                }
            }
            None => {
                out.insert(r.name.to_owned(), r.value.into());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(created: u64, live: u64) -> Vec<Reading> {
        vec![
            Reading {
                name: "sessions-created",
                kind: Kind::Cumulative,
                value: created,
            },
            Reading {
                name: "sessions",
                kind: Kind::Gauge,
                value: live,
            },
            Reading {
                name: "routing.waiting",
                kind: Kind::Gauge,
                value: 0,
            },
        ]
    }

    fn names(r: &[Reading]) -> Vec<&str> {
        r.iter().map(|r| r.name).collect()
    }

    #[test]
    fn set_keeps_non_zero_and_new_keeps_changed() {
        let v = ViewState::default();
        let (set, _) = v.read(&raw(2, 1), Content::Set, Reader::Http);
        assert_eq!(names(&set), ["sessions-created", "sessions"]);
        let (new, changed) = v.read(&raw(2, 0), Content::New, Reader::Http);
        assert_eq!(names(&new), ["sessions"]);
        assert!(changed);
        let (new, changed) = v.read(&raw(2, 0), Content::New, Reader::Http);
        assert!(new.is_empty() && !changed);
        let mut wobble = raw(2, 0);
        wobble.push(Reading {
            name: super::super::PROCESS_MEMORY,
            kind: Kind::Gauge,
            value: 4096,
        });
        let (new, changed) = v.read(&wobble, Content::New, Reader::Http);
        assert_eq!(names(&new), [super::super::PROCESS_MEMORY]);
        assert!(!changed, "memory alone is not a change");
        // The log has its own idea of what is new.
        let (new, _) = v.read(&raw(2, 0), Content::New, Reader::Log);
        assert_eq!(names(&new), ["sessions-created"]);
    }

    #[test]
    fn reset_zeroes_cumulative_counters_only() {
        let v = ViewState::default();
        v.reset(&raw(5, 3));
        let (all, _) = v.read(&raw(7, 3), Content::All, Reader::Http);
        assert_eq!(all[0].value, 2);
        assert_eq!(all[1].value, 3);
        let json = Value::Object(to_json(&all));
        assert_eq!(json["routing"]["waiting"], 0);
        assert_eq!(json["sessions-created"], 2);
    }
}
