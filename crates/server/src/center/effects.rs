//! Carrying out the router's effects: desktop frames at once; session commands, customer
//! notices and store updates in spawned tasks (the router task never waits on a session
//! or the store); a webhook for each interaction event.

use parley_core::routing::{
    AgentId, OfferKind, RequeueReason, RouteEffect, Stage, StopReason, WithdrawReason,
};
use std::collections::BTreeMap;
use std::sync::Arc;

use parley_core::{SessionId, UnixMillis, Visibility};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::task::{OfferClock, Task};
use super::wire::ChatOp;
use super::{properties, views, Center};
use crate::actor::SessionFact;
use crate::clock::now;
use crate::webhooks::{WebhookEvent, WebhookKind};
use parley_proto::desktop::DesktopEvent;

impl Task {
    pub(super) fn carry_out(&mut self, effect: RouteEffect) {
        match effect {
            RouteEffect::Offer {
                agent,
                interaction,
                until,
                kind,
            } => {
                let queued_since = match kind {
                    OfferKind::Queue(_) => self
                        .router
                        .interaction(&interaction)
                        .and_then(|ix| ix.waiting.as_ref())
                        .map(|w| w.since),
                    _ => None,
                };
                self.offers.insert(
                    interaction.clone(),
                    OfferClock {
                        at: now(),
                        queued_since,
                    },
                );
                let offer = views::offer(&self.chats, &interaction, &kind, until, now());
                self.tell(&agent, DesktopEvent::Offer(offer));
                properties::routing_state(&self.center, &interaction, "offered", Some(&agent));
                let queue = self.chats.get(&interaction).map(|m| m.queue.to_string());
                self.webhook(
                    WebhookKind::Offered,
                    &interaction,
                    serde_json::json!({"agent": agent.as_str(), "queue": queue,
                                       "until": until.0, "kind": views::offer_kind(&kind).0}),
                );
            }
            RouteEffect::OfferWithdrawn {
                agent,
                interaction,
                why,
            } => {
                self.offers.remove(&interaction);
                if why == WithdrawReason::Lapsed {
                    self.rejected(&agent, &interaction, "no-answer");
                }
                self.tell(
                    &agent,
                    DesktopEvent::OfferWithdrawn {
                        interaction_id: interaction.to_string(),
                    },
                );
            }
            RouteEffect::Assigned {
                agent,
                interaction,
                kind: _,
            } => {
                self.accepted(&interaction);
                self.center.grant(&agent, &interaction, Visibility::All);
                let chat = views::chat(&self.router, &self.chats, &interaction, &agent);
                if let Some(chat) = chat {
                    self.tell(&agent, DesktopEvent::Assigned(chat));
                }
                properties::routing_state(&self.center, &interaction, "handled", Some(&agent));
                self.webhook(
                    WebhookKind::Accepted,
                    &interaction,
                    serde_json::json!({"agent": agent.as_str()}),
                );
            }
            RouteEffect::Reattached { agent, interaction } => {
                self.center.grant(&agent, &interaction, Visibility::All);
                let chat = views::chat(&self.router, &self.chats, &interaction, &agent);
                if let Some(chat) = chat {
                    self.tell(&agent, DesktopEvent::Assigned(chat));
                }
            }
            RouteEffect::InviteFailed {
                interaction,
                invitee,
                kind,
            } => {
                let inviter = match kind {
                    OfferKind::Transfer { from } => Some(from),
                    OfferKind::Conference { inviter } => Some(inviter),
                    OfferKind::Queue(_) => None,
                };
                if let Some(inviter) = inviter {
                    self.tell(
                        &inviter,
                        DesktopEvent::InviteFailed {
                            interaction_id: interaction.to_string(),
                            invitee: invitee.to_string(),
                        },
                    );
                }
                self.webhook(
                    WebhookKind::Rejected,
                    &interaction,
                    serde_json::json!({"agent": invitee.as_str(), "reason": "invite-failed"}),
                );
            }
            RouteEffect::LeaveChat { agent, interaction } => {
                self.center.revoke(&agent, &interaction);
                let party = self
                    .chats
                    .get_mut(&interaction)
                    .and_then(|m| m.parties.remove(&agent));
                if let Some(party) = party {
                    remove_party(&self.center, &interaction, party);
                }
                self.tell(
                    &agent,
                    DesktopEvent::ChatRemoved {
                        interaction_id: interaction.to_string(),
                        reason: "removed",
                    },
                );
            }
            RouteEffect::SetNotReady { agent, reason } => {
                debug!(agent = %agent, reason, "set not ready");
            }
            RouteEffect::SupervisorJoined {
                supervisor,
                interaction,
                visibility,
            } => {
                self.center.grant(&supervisor, &interaction, visibility);
                if let Some(chat) =
                    views::chat(&self.router, &self.chats, &interaction, &supervisor)
                {
                    self.tell(&supervisor, DesktopEvent::Assigned(chat));
                }
            }
            RouteEffect::CustomerNotice {
                interaction, text, ..
            } => {
                let nickname = self.center.config.routing.system_nickname.clone();
                self.act_on_chat(interaction, ChatOp::Notice { nickname, text });
            }
            RouteEffect::Requeued {
                interaction,
                queue,
                why,
            } => {
                if let Some(meta) = self.chats.get_mut(&interaction) {
                    meta.queue = queue.clone();
                }
                properties::routing_state(&self.center, &interaction, "queued", None);
                let (reason, agent) = requeue_reason(&why);
                self.webhook(
                    WebhookKind::Queued,
                    &interaction,
                    serde_json::json!({"queue": queue.as_str(), "reason": reason,
                                       "agent": agent.as_str()}),
                );
            }
            RouteEffect::CloseInteraction {
                interaction,
                reason: _,
            } => self.act_on_chat(interaction, ChatOp::Close),
            RouteEffect::StopInteraction { interaction, why } => {
                self.center.revoke_all(&interaction);
                let reason = match why {
                    StopReason::Policy => "stop-abandoned-interaction",
                    StopReason::Done => "done",
                };
                properties::stopped(&self.center, &interaction, reason);
                self.webhook(
                    WebhookKind::Stopped,
                    &interaction,
                    serde_json::json!({"reason": reason}),
                );
                self.chats.remove(&interaction);
                self.offers.remove(&interaction);
            }
        }
    }

    /// An offer was accepted: its offer-to-accept time and, for a queue's offer, the
    /// chat's queue wait go to their histograms.
    fn accepted(&mut self, interaction: &SessionId) {
        let Some(clock) = self.offers.remove(interaction) else {
            return;
        };
        let at = now();
        let seconds = |from: UnixMillis| at.0.saturating_sub(from.0).max(0) as f64 / 1000.0;
        let metrics = &self.center.sessions.counters.metrics;
        metrics.offer_to_accept.record(seconds(clock.at));
        if let Some(since) = clock.queued_since {
            metrics.queue_wait.record(seconds(since));
        }
    }

    /// Publishes the chats per tenant, queue and stage (`parley_chats`), with the other
    /// routing gauges (at most once a second).
    pub(super) fn publish_chats(&self) {
        let mut counts: BTreeMap<(String, String, &'static str), u64> = BTreeMap::new();
        for ix in self.router.interactions() {
            let tenant = self
                .chats
                .get(&ix.id)
                .map_or_else(String::new, |m| m.tenant.clone());
            let stage = match ix.stage() {
                Stage::Waiting => "waiting",
                Stage::Offered => "offered",
                Stage::Handled => "handled",
                Stage::WrapUp => "wrap-up",
            };
            *counts
                .entry((tenant, ix.queue.to_string(), stage))
                .or_default() += 1;
        }
        let counts: Vec<_> = counts.into_iter().collect();
        self.center.sessions.counters.metrics.set_chats(&counts);
    }

    /// Queues a routing notice or close for the chat. A chat's operations are carried
    /// out one after another, in the order routing emitted them (the greeting before the
    /// first position, the maximum-wait message before the close), by one task per chat
    /// that ends with the chat; chats do not wait on each other.
    fn act_on_chat(&mut self, interaction: SessionId, op: ChatOp) {
        let tx = self.notices.entry(interaction.clone()).or_insert_with(|| {
            let (tx, mut rx) = mpsc::unbounded_channel::<ChatOp>();
            let center = self.center.clone();
            let id = interaction.clone();
            tokio::spawn(async move {
                while let Some(op) = rx.recv().await {
                    center.chat_op(&id, op).await;
                }
            });
            tx
        });
        // The task ends only when the sender is dropped.
        let _ = tx.send(op);
    }

    /// `interaction.rejected`: `reason` `rejected` or `no-answer`.
    pub(super) fn rejected(&self, agent: &AgentId, interaction: &SessionId, reason: &str) {
        self.webhook(
            WebhookKind::Rejected,
            interaction,
            serde_json::json!({"agent": agent.as_str(), "reason": reason}),
        );
    }

    fn webhook(&self, kind: WebhookKind, interaction: &SessionId, data: serde_json::Value) {
        self.center.webhooks.emit(WebhookEvent {
            kind,
            interaction_id: interaction.clone(),
            at: now(),
            data,
        });
    }
}

fn requeue_reason(why: &RequeueReason) -> (&'static str, &AgentId) {
    match why {
        RequeueReason::AgentDisconnected(a) => ("agent-disconnected", a),
        RequeueReason::AgentLoggedOut(a) => ("agent-logged-out", a),
        RequeueReason::AgentLeft(a) => ("agent-left", a),
        RequeueReason::Transferred(a) => ("transferred", a),
    }
}

/// Takes an agent's party out of the session (transfer done, re-queue, logout).
fn remove_party(center: &Arc<Center>, interaction: &SessionId, party: parley_core::PartyId) {
    let center = center.clone();
    let interaction = interaction.clone();
    tokio::spawn(async move {
        center.chat_op(&interaction, ChatOp::Remove { party }).await;
    });
}

/// The webhook of a session fact.
pub(super) fn fact_webhook(center: &Center, fact: &SessionFact) {
    let (kind, interaction, data) = match fact {
        SessionFact::Joined {
            interaction,
            party,
            nickname,
            party_type,
            visibility,
            ..
        } => (
            WebhookKind::PartyJoined,
            interaction,
            serde_json::json!({"partyId": party.to_string(), "nickname": nickname,
                               "partyType": party_type, "visibility": visibility}),
        ),
        SessionFact::Left {
            interaction,
            party,
            nickname,
            party_type,
            reason,
            ..
        } => (
            WebhookKind::PartyLeft,
            interaction,
            serde_json::json!({"partyId": party.to_string(), "nickname": nickname,
                               "partyType": party_type, "reason": reason}),
        ),
        SessionFact::Restored { .. } => return,
        SessionFact::Ended {
            interaction,
            end,
            statistics,
        } => match serde_json::to_value(end) {
            Ok(mut data) => {
                // The statistics attached to the interaction's user data at the end.
                if let Some(fields) = data.as_object_mut() {
                    fields.insert("statistics".into(), serde_json::json!(statistics));
                }
                (WebhookKind::Ended, interaction, data)
            }
            Err(e) => {
                warn!(error = %e, "end facts not serializable");
                return;
            }
        },
    };
    center.webhooks.emit(WebhookEvent {
        kind,
        interaction_id: interaction.clone(),
        at: now(),
        data,
    });
}
