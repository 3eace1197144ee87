//! What desktops are shown, computed from the router's state: the `welcome`, statuses,
//! offers, chats and the supervisors' overview.

use std::collections::HashMap;

use parley_core::routing::{AgentId, AgentStatus, Hold, OfferKind, Router, Stage};
use parley_core::{SessionId, UnixMillis, Visibility};

use super::task::{ChatMeta, Task};
use super::AgentProfile;
use crate::clock::now;
use parley_proto::desktop::{
    AgentInfo, AgentView, ChatInfo, DesktopEvent, OfferInfo, QueueView, SessionView, StatusInfo,
    SuperviseMode, SupervisorView,
};

/// The agent's status as the desktop shows it.
pub(super) fn status(
    router: &Router,
    login: &AgentId,
    profile: Option<&AgentProfile>,
) -> StatusInfo {
    match router.agent(login) {
        Some(a) => {
            let (status, reason) = status_words(&a.status);
            StatusInfo {
                status,
                reason,
                load: a.load(),
                capacity: a.capacity,
            }
        }
        None => StatusInfo {
            status: "loggedOut",
            reason: None,
            load: 0,
            capacity: profile.map_or(0, |p| p.capacity),
        },
    }
}

fn status_words(s: &AgentStatus) -> (&'static str, Option<String>) {
    match s {
        AgentStatus::LoggedOut => ("loggedOut", None),
        AgentStatus::NotReady { reason } => {
            ("notReady", (!reason.is_empty()).then(|| reason.clone()))
        }
        AgentStatus::Ready => ("ready", None),
    }
}

/// `queue`/`transfer`/`conference` and the inviting agent.
pub(super) fn offer_kind(kind: &OfferKind) -> (&'static str, Option<String>) {
    match kind {
        OfferKind::Queue(_) => ("queue", None),
        OfferKind::Transfer { from } => ("transfer", Some(from.to_string())),
        OfferKind::Conference { inviter } => ("conference", Some(inviter.to_string())),
    }
}

/// An offer frame.
pub(super) fn offer(
    chats: &HashMap<SessionId, ChatMeta>,
    id: &SessionId,
    kind: &OfferKind,
    until: UnixMillis,
    now: UnixMillis,
) -> OfferInfo {
    let meta = chats.get(id);
    let (kind, from) = offer_kind(kind);
    OfferInfo {
        interaction_id: id.to_string(),
        queue: meta.map(|m| m.queue.to_string()).unwrap_or_default(),
        kind,
        from,
        until: until.0,
        timeout_ms: u64::try_from(until.0 - now.0).unwrap_or(0),
        subject: meta.and_then(|m| m.subject.clone()),
        user_data: meta.map(|m| m.user_data.clone()).unwrap_or_default(),
        identity: meta.and_then(|m| crate::identity::shown(&m.user_data)),
        session_password: meta.and_then(|m| m.password.clone()),
    }
}

fn visibility_word(v: Visibility) -> &'static str {
    match v {
        Visibility::All => "ALL",
        Visibility::Int => "INT",
        Visibility::Vip => "VIP",
    }
}

/// The chat `agent` holds or supervises, if any.
pub(super) fn chat(
    router: &Router,
    chats: &HashMap<SessionId, ChatMeta>,
    id: &SessionId,
    agent: &AgentId,
) -> Option<ChatInfo> {
    let ix = router.interaction(id)?;
    let (visibility, hold) = match (ix.handlers.get(agent), ix.supervisors.get(agent)) {
        (Some(Hold::Active), _) => (Visibility::All, "active"),
        (Some(Hold::WrapUp), _) => (Visibility::All, "wrapUp"),
        (None, Some(v)) => (*v, "active"),
        (None, None) => return None,
    };
    let meta = chats.get(id);
    Some(ChatInfo {
        interaction_id: id.to_string(),
        queue: ix.queue.to_string(),
        visibility: visibility_word(visibility),
        hold,
        subject: meta.and_then(|m| m.subject.clone()),
        user_data: meta.map(|m| m.user_data.clone()).unwrap_or_default(),
        identity: meta.and_then(|m| crate::identity::shown(&m.user_data)),
        session_password: meta.and_then(|m| m.password.clone()),
    })
}

/// The `welcome` of an agent's desktop.
pub(super) fn welcome(task: &Task, login: &AgentId) -> DesktopEvent {
    let profile = task.agents.get(login).and_then(|a| a.profile.clone());
    let now = now();
    let mut offers = Vec::new();
    let mut chats = Vec::new();
    if let Some(a) = task.router.agent(login) {
        for id in &a.offers {
            if let Some(o) = task.router.interaction(id).and_then(|ix| ix.offer.as_ref()) {
                offers.push(offer(&task.chats, id, &o.kind, o.until, now));
            }
        }
        for id in a.chats.iter().chain(a.supervising.iter()) {
            if let Some(c) = chat(&task.router, &task.chats, id, login) {
                chats.push(c);
            }
        }
    }
    let agent = match &profile {
        Some(p) => AgentInfo {
            login: p.login.to_string(),
            nickname: p.nickname.clone(),
            role: p.role.as_str(),
            queues: p.queues.iter().map(ToString::to_string).collect(),
            capacity: p.capacity,
        },
        None => AgentInfo {
            login: login.to_string(),
            nickname: login.to_string(),
            role: "agent",
            queues: Vec::new(),
            capacity: 0,
        },
    };
    DesktopEvent::Welcome {
        agent,
        status: status(&task.router, login, profile.as_ref()),
        offers,
        chats,
    }
}

/// The supervisors' overview.
pub(super) fn overview(
    router: &Router,
    chats: &HashMap<SessionId, ChatMeta>,
    agents: &[(AgentProfile, bool)],
    now: UnixMillis,
) -> DesktopEvent {
    let mut queues: Vec<QueueView> = router
        .settings()
        .queues
        .keys()
        .map(|q| QueueView {
            name: q.to_string(),
            waiting: 0,
            longest_wait_ms: 0,
            agents_ready: u32::try_from(
                router
                    .agents()
                    .filter(|a| a.status == AgentStatus::Ready && a.queues.contains(q))
                    .count(),
            )
            .unwrap_or(u32::MAX),
        })
        .collect();
    let mut sessions = Vec::new();
    for ix in router.interactions() {
        if let Some(w) = &ix.waiting {
            if let Some(q) = queues.iter_mut().find(|q| q.name == ix.queue.as_str()) {
                q.waiting += 1;
                let waited = u64::try_from(now.0 - w.since.0).unwrap_or(0);
                q.longest_wait_ms = q.longest_wait_ms.max(waited);
            }
        }
        let state = match ix.stage() {
            Stage::Offered => "offered",
            Stage::Waiting => "waiting",
            Stage::Handled => "handled",
            Stage::WrapUp => "wrapUp",
        };
        sessions.push(SessionView {
            interaction_id: ix.id.to_string(),
            queue: ix.queue.to_string(),
            state,
            customer: chats.get(&ix.id).map(|m| m.customer.clone()),
            submitted_at: ix.submitted_at.0,
            agents: ix.handlers.keys().map(ToString::to_string).collect(),
            supervisors: ix
                .supervisors
                .iter()
                .map(|(login, v)| SupervisorView {
                    login: login.to_string(),
                    mode: match v {
                        Visibility::Int => SuperviseMode::Monitor,
                        Visibility::Vip => SuperviseMode::Coach,
                        Visibility::All => SuperviseMode::Barge,
                    },
                })
                .collect(),
        });
    }
    let mut agent_views: Vec<AgentView> = agents
        .iter()
        .map(|(p, connected)| {
            let s = status(router, &p.login, Some(p));
            AgentView {
                login: p.login.to_string(),
                nickname: p.nickname.clone(),
                role: p.role.as_str(),
                status: s.status,
                reason: s.reason,
                load: s.load,
                capacity: s.capacity,
                connected: *connected,
            }
        })
        .collect();
    agent_views.sort_by(|a, b| a.login.cmp(&b.login));
    DesktopEvent::Overview {
        queues,
        agents: agent_views,
        sessions,
    }
}
