//! Per-session bookkeeping of every message. Each message's text carries its session tag,
//! a per-session sequence number, its sender and its send time, so whichever party
//! receives it — over any protocol — can say how late it is, and the ledger can say
//! whether that party already had it (a duplicate) or, when the session ends, which
//! parties never got it (lost). One small mutex per session: its two or three parties
//! touch it, nobody else.

use std::sync::{Arc, Mutex};

use crate::stats::Stats;

/// Party indexes (bits of a delivery mask).
pub const CUSTOMER: u8 = 0;
/// The agent.
pub const AGENT: u8 = 1;
/// The monitoring supervisor.
pub const SUPERVISOR: u8 = 2;

/// Prefix of every generated message, so anything else (a greeting, a farewell) is
/// ignored.
const MAGIC: &str = "pb1";

/// A ledger shared by a session's parties.
pub type SharedLedger = Arc<Mutex<Ledger>>;

/// What a generated message says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The session tag.
    pub tag: u64,
    /// Sequence number within the session.
    pub seq: u64,
    /// Party index of the sender.
    pub sender: u8,
    /// Send time, microseconds since the run started.
    pub sent_us: u64,
}

impl Stamp {
    /// The message text: the stamp, padded with `x` to `size` bytes (longer when `size`
    /// is smaller than the stamp itself).
    pub fn text(&self, size: usize) -> String {
        let mut t = format!(
            "{MAGIC} {:x} {} {} {} ",
            self.tag, self.seq, self.sender, self.sent_us
        );
        if t.len() < size {
            t.extend(std::iter::repeat_n('x', size - t.len()));
        }
        t
    }

    /// Reads a stamp back; `None` for text that is not a generated message.
    pub fn parse(text: &str) -> Option<Stamp> {
        let mut it = text.split(' ');
        if it.next()? != MAGIC {
            return None;
        }
        Some(Stamp {
            tag: u64::from_str_radix(it.next()?, 16).ok()?,
            seq: it.next()?.parse().ok()?,
            sender: it.next()?.parse().ok()?,
            sent_us: it.next()?.parse().ok()?,
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    sent_us: u64,
    sender: u8,
    mask: u8,
    acked: bool,
    failed: bool,
    done: bool,
}

/// Every message of one session.
#[derive(Debug)]
pub struct Ledger {
    tag: u64,
    full: u8,
    entries: Vec<Entry>,
    outstanding: usize,
    /// Spreads histogram records over shards.
    shard: usize,
}

impl Ledger {
    /// A ledger for a session with `parties` parties (2 or 3), all of which must receive
    /// every message.
    pub fn new(tag: u64, parties: u8) -> Ledger {
        Ledger {
            tag,
            full: (1u8 << parties) - 1,
            entries: Vec::new(),
            outstanding: 0,
            shard: tag as usize,
        }
    }

    /// A shared ledger.
    pub fn shared(tag: u64, parties: u8) -> SharedLedger {
        Arc::new(Mutex::new(Ledger::new(tag, parties)))
    }

    /// The session tag.
    pub fn tag(&self) -> u64 {
        self.tag
    }

    /// Registers a new message from `sender`, sent now; returns its stamp.
    pub fn next(&mut self, sender: u8, stats: &Stats) -> Stamp {
        let stamp = Stamp {
            tag: self.tag,
            seq: self.entries.len() as u64,
            sender,
            sent_us: stats.now_us(),
        };
        self.entries.push(Entry {
            sent_us: stamp.sent_us,
            sender,
            mask: 0,
            acked: false,
            failed: false,
            done: false,
        });
        self.outstanding += 1;
        stats.c.sent.inc();
        if stats.in_window(stamp.sent_us) {
            stats.c.sent_in_window.inc();
        }
        stamp
    }

    /// Party `party` received message text `text` (anything not generated is ignored).
    pub fn delivered(&mut self, party: u8, text: &str, stats: &Stats) {
        let Some(stamp) = Stamp::parse(text) else {
            return;
        };
        let now = stats.now_us();
        if stamp.tag != self.tag {
            stats.c.misrouted.inc();
            return;
        }
        let Some(e) = self.entries.get_mut(stamp.seq as usize) else {
            stats.c.misrouted.inc();
            return;
        };
        let bit = 1u8 << party;
        if e.mask & bit != 0 {
            stats.c.duplicated.inc();
            return;
        }
        e.mask |= bit;
        if party == e.sender {
            stats.c.echoed.inc();
        } else {
            stats.c.delivered.inc();
            if stats.in_window(now) {
                stats.c.delivered_in_window.inc();
            }
            if stats.in_window(e.sent_us) {
                stats
                    .delivery
                    .record(self.shard, now.saturating_sub(e.sent_us));
            }
        }
        self.settle(stamp.seq as usize);
    }

    /// The sender's send of `seq` was acknowledged.
    pub fn acked(&mut self, seq: u64, stats: &Stats) {
        let now = stats.now_us();
        let Some(e) = self.entries.get_mut(seq as usize) else {
            return;
        };
        if e.acked {
            return;
        }
        e.acked = true;
        stats.c.acked.inc();
        if stats.in_window(e.sent_us) {
            stats.ack.record(self.shard, now.saturating_sub(e.sent_us));
        }
        self.settle(seq as usize);
    }

    /// The send of `seq` was refused: nobody should receive it.
    pub fn failed(&mut self, seq: u64, stats: &Stats) {
        let Some(e) = self.entries.get_mut(seq as usize) else {
            return;
        };
        if e.failed {
            return;
        }
        e.failed = true;
        stats.c.send_failed.inc();
        if !e.done {
            e.done = true;
            self.outstanding -= 1;
        }
    }

    fn settle(&mut self, i: usize) {
        let e = &mut self.entries[i];
        if !e.done && e.acked && e.mask == self.full {
            e.done = true;
            self.outstanding -= 1;
        }
    }

    /// Messages not yet acknowledged and received by every party.
    pub fn outstanding(&self) -> usize {
        self.outstanding
    }

    /// The session is over: every delivery still missing is lost.
    pub fn finish(&mut self, stats: &Stats) {
        for e in self.entries.iter_mut().filter(|e| !e.done && !e.failed) {
            stats
                .c
                .lost
                .add(u64::from((self.full & !e.mask).count_ones()));
            if !e.acked {
                stats.c.unacked.inc();
            }
            e.done = true;
        }
        self.outstanding = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_survives_the_round_trip_and_pads_to_size() {
        let s = Stamp {
            tag: 0xabc,
            seq: 7,
            sender: AGENT,
            sent_us: 123456,
        };
        let t = s.text(200);
        assert_eq!(t.len(), 200);
        assert_eq!(Stamp::parse(&t), Some(s));
        assert_eq!(Stamp::parse(&s.text(1)), Some(s));
        assert_eq!(Stamp::parse("hello there"), None);
    }

    #[test]
    fn deliveries_are_counted_once_and_missing_ones_are_lost() {
        let stats = Stats::new();
        stats.open_window();
        let mut l = Ledger::new(5, 2);
        let a = l.next(CUSTOMER, &stats);
        let b = l.next(AGENT, &stats);
        for p in [CUSTOMER, AGENT] {
            l.delivered(p, &a.text(10), &stats);
        }
        l.acked(a.seq, &stats);
        assert_eq!(l.outstanding(), 1);
        l.delivered(AGENT, &a.text(10), &stats);
        assert_eq!(stats.c.duplicated.get(), 1);
        l.delivered(AGENT, &Stamp { tag: 6, ..b }.text(10), &stats);
        assert_eq!(stats.c.misrouted.get(), 1);
        l.delivered(AGENT, &b.text(10), &stats);
        l.acked(b.seq, &stats);
        l.finish(&stats);
        assert_eq!(stats.c.lost.get(), 1, "the customer never got b");
        assert_eq!(stats.c.delivered.get(), 1);
        assert_eq!(stats.c.echoed.get(), 2);
        assert_eq!(stats.delivery.merged().len(), 1);
    }

    #[test]
    fn a_refused_send_is_not_expected_anywhere() {
        let stats = Stats::new();
        let mut l = Ledger::new(1, 3);
        let a = l.next(CUSTOMER, &stats);
        l.failed(a.seq, &stats);
        assert_eq!(l.outstanding(), 0);
        l.finish(&stats);
        assert_eq!(stats.c.lost.get(), 0);
        assert_eq!(stats.c.send_failed.get(), 1);
    }
}
