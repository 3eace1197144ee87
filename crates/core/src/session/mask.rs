//! Masking in a session: the rules and options it runs with, applied to each message as
//! it is emitted (whoever sends it: a party, a workflow, the server) and to typing
//! previews as they come in. What each viewer is then shown is the projection's business
//! (`view.rs`), from what is decided here once, at send time.

use std::sync::Arc;

use super::Session;
use crate::event::{EventBody, NoticeType, Pii};
use crate::ids::PartyId;
use crate::mask::{MaskPolicy, RuleSet, TypingPart, TypingPreview};
use crate::party::Protocol;

/// The `[transcript-cleanup]` options and the tenant's rules a session masks with.
#[derive(Debug, Clone)]
pub struct SessionMasking {
    /// Where and for whom masking applies.
    pub policy: MaskPolicy,
    /// The rules, in order (shared by the tenant's sessions).
    pub rules: Arc<RuleSet>,
}

impl PartialEq for SessionMasking {
    fn eq(&self, other: &Self) -> bool {
        self.policy == other.policy
            && (Arc::ptr_eq(&self.rules, &other.rules) || self.rules == other.rules)
    }
}

impl Session {
    /// Whether the transcript stored while the chat goes on is masked (`apply-area`
    /// `always` or `history-all`): the shell stores [`crate::Event::stored`] copies.
    pub fn masks_intermediate(&self) -> bool {
        self.masking_policy()
            .is_some_and(MaskPolicy::masks_intermediate)
    }

    /// Whether the final transcript is masked (masking is on at all).
    pub fn masks_final(&self) -> bool {
        self.masking_policy().is_some_and(MaskPolicy::masks_final)
    }

    /// The chat's subject as `clean-subject` lets the stored record and contact history
    /// (`history`) or the live interaction (routing, desktops, webhooks) show it.
    pub fn subject_for(&self, subject: &str, history: bool) -> String {
        match &self.settings.masking {
            Some(m)
                if (history && m.policy.masks_subject_in_history())
                    || (!history && m.policy.masks_subject_in_interaction()) =>
            {
                m.rules.mask(subject).text
            }
            _ => subject.to_owned(),
        }
    }

    fn masking_policy(&self) -> Option<&MaskPolicy> {
        self.settings.masking.as_ref().map(|m| &m.policy)
    }

    /// The policy when it masks typing previews.
    fn preview_policy(&self) -> Option<&MaskPolicy> {
        self.masking_policy()
            .filter(|p| p.typing_preview != TypingPreview::None)
    }

    /// What masking finds in a message `from` sends now: `None` when masking is off or
    /// no rule hit. Who is shown it in clear is decided here, from the parties present.
    pub(super) fn mask_message(&self, from: &PartyId, body: &EventBody) -> Option<Box<Pii>> {
        let EventBody::Message { text, .. } = body else {
            return None;
        };
        let m = self.settings.masking.as_ref()?;
        if !m.policy.enabled() {
            return None;
        }
        let masked = m.rules.mask(text);
        if !masked.has_hits() {
            return None;
        }
        let clear_for = m.policy.masks_live().then(|| match self.party(from) {
            Some(sender) => m.policy.unmasked_audience(sender, &self.parties),
            // The server's own messages are nobody's to see in clear.
            None => Vec::new(),
        });
        Some(Box::new(Pii {
            masked: Some(masked.text),
            hits: masked.hits,
            clear_for,
            failure: masked.failure.map(|f| f.to_string()),
        }))
    }

    /// A typing notice's preview with its digits masked as `typing-preview` says. A basic
    /// client sends the preview as the notice's text (the notice part); flex and GMS
    /// clients send what the customer is typing as a message text (the message part).
    pub(super) fn mask_preview(
        &self,
        from: &PartyId,
        notice_type: NoticeType,
        text: Option<String>,
    ) -> Option<String> {
        let Some(policy) = self.preview_policy() else {
            return text;
        };
        match text {
            Some(preview) if notice_type.is_typing() => {
                let part = match self.party(from).map(|p| p.protocol) {
                    Some(Protocol::Basic) => TypingPart::Notice,
                    _ => TypingPart::Message,
                };
                Some(policy.mask_typing(part, &preview).into_owned())
            }
            other => other,
        }
    }
}
