//! Leaving and closing: after-actions and the rules for when a session ends.
//!
//! - `ForceClose`: the session closes.
//! - `CloseIfNoAgents`: it closes when no visible human agent or supervisor remains
//!   (bots, monitors and coaches do not count).
//! - Whatever the after-action, it closes when no party remains that takes part visibly
//!   (joined with `ALL`): monitors and coaches alone do not keep a session open, nor
//!   do workflow (ESP) parties.
//!
//! When it closes, the parties still present are shown leaving (removed by the closer,
//! or by the system), and the end facts are computed for reporting.

use super::{Effect, EndInfo, EndedAgent, EndedBy, EndedReason, Session};
use crate::error::CoreError;
use crate::event::{EventBody, LeftReason};
use crate::ids::{PartyId, UnixMillis};
use crate::party::{AfterAction, PartyType, Visibility};

impl Session {
    pub(super) fn leave(
        &mut self,
        now: UnixMillis,
        id: &PartyId,
        reason: LeftReason,
        after_action: AfterAction,
        text: Option<String>,
        asker: Option<PartyId>,
    ) -> Result<Vec<Effect>, CoreError> {
        if text
            .as_ref()
            .is_some_and(|t| t.len() > self.settings.limits.max_text_bytes)
        {
            return Err(CoreError::LimitExceeded("release text too large"));
        }
        if let Some(a) = &asker {
            self.present_party(a)?;
        }
        let party = self.present_party(id)?.clone();
        let mut effects = self.depart(
            now,
            &party.id,
            party.visibility,
            reason,
            after_action,
            text,
            asker,
        );
        if party.party_type == PartyType::Client && self.end.client_left.is_none() {
            self.end.client_left = Some(EndedReason::of_leave(reason));
        }

        let visible_agent_left = self
            .parties
            .iter()
            .any(|p| p.present && p.is_visible_agent() && p.visibility == Visibility::All);
        // A workflow (ESP) party does not keep a chat open on its own.
        let anyone_visible = self
            .parties
            .iter()
            .any(|p| p.present && p.visibility == Visibility::All && !p.is_workflow());
        let close = match after_action {
            AfterAction::ForceClose => true,
            AfterAction::CloseIfNoAgents => !visible_agent_left,
            AfterAction::KeepAlive => false,
        } || !anyone_visible;
        if close {
            let closer = Some((party, after_action, reason));
            effects.extend(self.finish(now, closer, EndedReason::of_leave(reason)));
        }
        Ok(effects)
    }

    /// Marks one party gone: its leave event, and its read confirmations annihilated.
    #[allow(clippy::too_many_arguments)]
    fn depart(
        &mut self,
        now: UnixMillis,
        id: &PartyId,
        visibility: Visibility,
        reason: LeftReason,
        after_action: AfterAction,
        text: Option<String>,
        asker: Option<PartyId>,
    ) -> Vec<Effect> {
        let mut effects = self.annihilate(|e| &e.from == id && e.is_read_confirm());
        // The party leaves the audience before the event is emitted, except that its own
        // leave is shown to it by the shell (which replies to the requester).
        let body = EventBody::PartyLeft {
            reason,
            after_action,
            text,
            asker,
        };
        effects.push(self.emit(now, id.clone(), visibility, None, body, true));
        if let Some(p) = self.parties.iter_mut().find(|p| &p.id == id) {
            p.present = false;
            p.detached_since = None;
        }
        effects
    }

    /// Removes every remaining party and computes the end facts.
    pub(super) fn finish(
        &mut self,
        now: UnixMillis,
        closer: Option<(crate::party::Party, AfterAction, LeftReason)>,
        system_reason: EndedReason,
    ) -> Vec<Effect> {
        let agent_present = self
            .parties
            .iter()
            .any(|p| p.present && p.is_visible_agent() && p.visibility == Visibility::All)
            || closer
                .as_ref()
                .is_some_and(|(p, _, _)| p.is_visible_agent() && p.visibility == Visibility::All);
        let (asker, removal) = match &closer {
            Some((p, _, _)) => (Some(p.id.clone()), LeftReason::RemovedByParty),
            None if system_reason == EndedReason::Inactive => (None, LeftReason::Inactivity),
            None => (None, LeftReason::System),
        };
        let remaining: Vec<(PartyId, Visibility)> = self
            .parties
            .iter()
            .filter(|p| p.present)
            .map(|p| (p.id.clone(), p.visibility))
            .collect();
        let mut effects = Vec::new();
        for (id, vis) in remaining {
            effects.extend(self.depart(
                now,
                &id,
                vis,
                removal,
                AfterAction::KeepAlive,
                None,
                asker.clone(),
            ));
        }
        let (ended_by, reason) = match (&self.end.client_left, &closer) {
            (Some(r), _) => (EndedBy::Client, *r),
            (None, Some((p, action, left))) => {
                let reason = match action {
                    AfterAction::KeepAlive => EndedReason::of_leave(*left),
                    AfterAction::CloseIfNoAgents | AfterAction::ForceClose => EndedReason::Force,
                };
                (EndedBy::of(p), reason)
            }
            (None, None) => (EndedBy::System, system_reason),
        };
        let agent = if agent_present {
            EndedAgent::Present
        } else if self.end.agent_joined {
            EndedAgent::Visited
        } else {
            EndedAgent::Absent
        };
        let info = EndInfo {
            closed_at: now,
            ended_by,
            reason,
            agent,
        };
        self.over = Some(info);
        effects.push(Effect::Closed(info));
        effects
    }
}
