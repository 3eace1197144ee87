//! The desktops connected to this instance, whoever leads routing: where the leader's
//! frames for them go when they come over the bus, and what a new leader is told about
//! them (each is announced again, with the ready state it last had, when the leader
//! changes).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use parley_proto::desktop::DesktopEvent;

use super::AgentProfile;

/// A desktop connection as routing sees it: where to send its events, and how to close
/// it. On the leader, a desktop of another instance is a proxy whose frames go over the
/// bus (`cluster.rs`).
pub struct Desk {
    /// The connection (unique across the cluster: ids start at a random point).
    pub conn: u64,
    /// Its outbound queue.
    pub tx: mpsc::Sender<DeskFrame>,
    /// Cancelled to close it (logged out, replaced).
    pub kick: CancellationToken,
    /// Whether it asked for overviews (supervisors).
    pub watching: bool,
    /// Whether it was last told it is ready (set by its writer; a new leader is told).
    pub ready: Arc<AtomicBool>,
}

/// A frame to a desktop: an event, or one already in the desktop protocol's JSON (from
/// the leader on another instance).
#[derive(Debug, Clone)]
pub enum DeskFrame {
    /// An event.
    Event(DesktopEvent),
    /// Its JSON.
    Json(String),
}

impl From<DesktopEvent> for DeskFrame {
    fn from(e: DesktopEvent) -> DeskFrame {
        DeskFrame::Event(e)
    }
}

impl DeskFrame {
    /// The JSON text.
    pub fn text(&self) -> Option<String> {
        match self {
            DeskFrame::Event(e) => serde_json::to_string(e).ok(),
            DeskFrame::Json(j) => Some(j.clone()),
        }
    }

    /// `Some(ready)` for a status frame.
    pub fn readiness(&self) -> Option<bool> {
        match self {
            DeskFrame::Event(DesktopEvent::Status(s)) => Some(s.status == "ready"),
            DeskFrame::Event(_) => None,
            DeskFrame::Json(j) => {
                if !j.contains("\"status\"") {
                    return None;
                }
                let v: serde_json::Value = serde_json::from_str(j).ok()?;
                (v["type"] == "status").then(|| v["status"] == "ready")
            }
        }
    }
}

/// One desktop connection of this instance.
#[derive(Clone)]
pub(super) struct LocalDesk {
    pub(super) profile: AgentProfile,
    pub(super) tx: mpsc::Sender<DeskFrame>,
    pub(super) kick: CancellationToken,
    pub(super) ready: Arc<AtomicBool>,
    pub(super) watching: bool,
}

impl LocalDesk {
    /// The desk as the router task holds it.
    pub(super) fn desk(&self, conn: u64) -> Desk {
        Desk {
            conn,
            tx: self.tx.clone(),
            kick: self.kick.clone(),
            watching: self.watching,
            ready: self.ready.clone(),
        }
    }

    /// Whether the desktop was last told it is ready.
    pub(super) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}

/// The desktops of this instance, by connection.
#[derive(Default)]
pub(super) struct Registry(Mutex<HashMap<u64, LocalDesk>>);

impl Registry {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, LocalDesk>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn insert(&self, profile: &AgentProfile, desk: &Desk) {
        self.map().insert(
            desk.conn,
            LocalDesk {
                profile: profile.clone(),
                tx: desk.tx.clone(),
                kick: desk.kick.clone(),
                ready: desk.ready.clone(),
                watching: desk.watching,
            },
        );
    }

    pub(super) fn remove(&self, conn: u64) {
        self.map().remove(&conn);
    }

    pub(super) fn watching(&self, conn: u64) {
        if let Some(d) = self.map().get_mut(&conn) {
            d.watching = true;
        }
    }

    /// Desktop `conn`.
    pub(super) fn get(&self, conn: u64) -> Option<LocalDesk> {
        self.map().get(&conn).cloned()
    }

    /// Every desktop, to announce to a new leader.
    pub(super) fn all(&self) -> Vec<(u64, LocalDesk)> {
        self.map().iter().map(|(c, d)| (*c, d.clone())).collect()
    }

    /// A frame from the leader for desktop `conn`; one that cannot keep up is closed
    /// (it reconnects and gets a fresh `welcome`).
    pub(super) fn deliver(&self, conn: u64, frame: DeskFrame) {
        if let Some(d) = self.map().get(&conn) {
            if d.tx.try_send(frame).is_err() {
                d.kick.cancel();
            }
        }
    }

    /// Closes desktop `conn`.
    pub(super) fn kick(&self, conn: u64) {
        if let Some(d) = self.map().get(&conn) {
            d.kick.cancel();
        }
    }
}
