//! The `[transcript-cleanup]` options as values, and the decisions the delivery code
//! asks of them: where masking applies (live, stored while the chat goes on, final
//! transcript, subject, typing previews) and, live, who is shown a message in clear.
//!
//! Who sees a customer's message unmasked (`unmask-live-dialog`, the seed's five-step
//! example), when `apply-area` is `always`:
//!
//! 1. before any agent, the customer's message is masked for everyone, the customer too;
//! 2. an agent who joins sees the earlier messages masked;
//! 3. a message the customer sends while an *active* agent (one visible to the customer:
//!    joined with `ALL`, not a monitor or a coach) is present is shown in clear to that
//!    agent and to the customer;
//! 4. a second agent who joins sees every earlier message masked, those of step 3 too;
//! 5. a message sent with both agents present is in clear for both and the customer.
//!
//! Monitors (`INT`) and coaches (`VIP`) never see unmasked data; messages from anyone but
//! a customer are masked for everyone; a bot is an active agent for this only with
//! `allow-bot-unmask` (which needs no `unmask-live-dialog`: it is its own opt-in). So who
//! sees a message in clear is decided once, when it is sent, from the parties present
//! then ([`MaskPolicy::unmasked_audience`]), and later joiners are never in it. Stored
//! transcripts are masked throughout (`masks_intermediate`, `masks_final`).

use std::borrow::Cow;

use serde::Deserialize;

use super::preview::mask_digits;
use super::set::Style;
use crate::ids::PartyId;
use crate::party::{Party, PartyStyle, PartyType, Visibility};

/// `apply-area`: where masking applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApplyArea {
    /// Live delivery, the transcript saved while the chat goes on, the final transcript.
    Always,
    /// The transcripts saved (while the chat goes on and at its end), not live delivery;
    /// a restored session is rebuilt from the saved transcript, so it is masked live too.
    HistoryAll,
    /// The final transcript only.
    HistoryFinal,
    /// Nowhere (the default).
    #[default]
    Never,
}

/// `apply-config`: where the rules come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplyConfig {
    /// The built-in rules and those of the configuration file.
    Cfg,
    /// The tenant's stored rules when it has any, else as `cfg` (the default).
    #[default]
    Mix,
    /// The tenant's stored rules only; none stored, nothing masked.
    Ucs,
}

/// `clean-subject`: whether the chat's subject is masked too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CleanSubject {
    /// Never (the default).
    #[default]
    Never,
    /// In the stored interaction record and contact history.
    History,
    /// In the live interaction (routing, the desktop, webhooks).
    Interaction,
    /// Both.
    Both,
}

/// `typing-preview`: which part of a typing notification has its digits masked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TypingPreview {
    /// Both parts.
    Any,
    /// The message part (the preview text a client sends as a typing message).
    Message,
    /// The notice part (the text of a typing notice).
    Notice,
    /// Neither (the default).
    #[default]
    None,
}

/// The part of a typing notification a preview came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypingPart {
    /// The message part.
    Message,
    /// The notice part.
    Notice,
}

/// The facts about a party that decide whether it is shown messages in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartyFacts {
    /// Its kind.
    pub party_type: PartyType,
    /// How it joined: visibly (`ALL`), as a monitor (`INT`) or a coach (`VIP`).
    pub joined_as: Visibility,
    /// Whether it is a bot.
    pub bot: bool,
}

impl From<&Party> for PartyFacts {
    fn from(p: &Party) -> PartyFacts {
        PartyFacts {
            party_type: p.party_type,
            joined_as: p.visibility,
            bot: p.style == PartyStyle::Bot,
        }
    }
}

/// The facts about one viewer and one message that decide whether the viewer's live copy
/// of the message is masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveView {
    /// The message is from a customer.
    pub from_customer: bool,
    /// The viewer sent it.
    pub viewer_is_sender: bool,
    /// The viewer.
    pub viewer: PartyFacts,
    /// The viewer was present (had joined and not left) when the message was sent.
    pub viewer_present_at_send: bool,
    /// A party other than the sender that unmasks ([`MaskPolicy::unmasks`]) was present
    /// when the message was sent.
    pub unmasker_present_at_send: bool,
}

/// The `[transcript-cleanup]` options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaskPolicy {
    /// `apply-area`.
    pub apply_area: ApplyArea,
    /// `clean-subject`.
    pub clean_subject: CleanSubject,
    /// `typing-preview`.
    pub typing_preview: TypingPreview,
    /// `unmask-live-dialog`: active agents see in clear what customers send after they
    /// joined.
    pub unmask_live_dialog: bool,
    /// `allow-bot-unmask`: bots are shown customers' messages in clear.
    pub allow_bot_unmask: bool,
    /// `default-repchar` and `default-spec`.
    pub style: Style,
}

impl MaskPolicy {
    /// Whether masking applies anywhere (`apply-area` is not `never`).
    pub fn enabled(&self) -> bool {
        self.apply_area != ApplyArea::Never
    }

    /// Whether live delivery (and what a party re-reads live: resume, refresh) is masked.
    pub fn masks_live(&self) -> bool {
        self.apply_area == ApplyArea::Always
    }

    /// Whether the transcript saved while the chat goes on (what a restoration rebuilds
    /// the session from) is masked.
    pub fn masks_intermediate(&self) -> bool {
        matches!(self.apply_area, ApplyArea::Always | ApplyArea::HistoryAll)
    }

    /// Whether the final transcript (interaction record, contact history) is masked.
    pub fn masks_final(&self) -> bool {
        self.enabled()
    }

    /// Whether the subject is masked in the stored record and the contact history.
    pub fn masks_subject_in_history(&self) -> bool {
        self.enabled()
            && matches!(
                self.clean_subject,
                CleanSubject::History | CleanSubject::Both
            )
    }

    /// Whether the subject is masked in the live interaction.
    pub fn masks_subject_in_interaction(&self) -> bool {
        self.enabled()
            && matches!(
                self.clean_subject,
                CleanSubject::Interaction | CleanSubject::Both
            )
    }

    /// Whether the digits of a typing preview that came in `part` are masked (whatever
    /// `apply-area` says: the seed ties it to `typing-preview` alone).
    pub fn masks_typing(&self, part: TypingPart) -> bool {
        match self.typing_preview {
            TypingPreview::Any => true,
            TypingPreview::Message => part == TypingPart::Message,
            TypingPreview::Notice => part == TypingPart::Notice,
            TypingPreview::None => false,
        }
    }

    /// A typing preview that came in `part`, as agents are shown it.
    pub fn mask_typing<'a>(&self, part: TypingPart, preview: &'a str) -> Cow<'a, str> {
        if self.masks_typing(part) {
            mask_digits(preview, self.style.repchar)
        } else {
            Cow::Borrowed(preview)
        }
    }

    /// Whether `party`, present when a customer sends a message, is shown it in clear: an
    /// active agent or supervisor (joined visibly) with `unmask-live-dialog`, or an active
    /// bot with `allow-bot-unmask`.
    pub fn unmasks(&self, party: PartyFacts) -> bool {
        let active_staff = party.party_type.is_staff() && party.joined_as == Visibility::All;
        match (active_staff, party.bot) {
            (false, _) => false,
            (true, false) => self.unmask_live_dialog,
            (true, true) => self.allow_bot_unmask,
        }
    }

    /// Whether the viewer's live copy of the message is masked.
    pub fn masks_live_for(&self, view: LiveView) -> bool {
        if !self.masks_live() {
            return false;
        }
        if !view.from_customer {
            return true;
        }
        if view.viewer_is_sender {
            return !view.unmasker_present_at_send;
        }
        !(view.viewer_present_at_send && self.unmasks(view.viewer))
    }

    /// The parties shown in clear a message `sender` sends now, given the session's
    /// `parties` (those not present are skipped): decided once, at send time, and kept
    /// with the message; every other viewer, later joiners included, is shown it masked.
    /// Meaningful when [`MaskPolicy::masks_live`]; otherwise nobody's live copy is masked.
    pub fn unmasked_audience<'a>(
        &self,
        sender: &Party,
        parties: impl IntoIterator<Item = &'a Party>,
    ) -> Vec<PartyId> {
        let present: Vec<&Party> = parties.into_iter().filter(|p| p.present).collect();
        let unmasker_present = present
            .iter()
            .any(|p| p.id != sender.id && self.unmasks(PartyFacts::from(*p)));
        let mut out = Vec::new();
        for p in std::iter::once(sender).chain(present.iter().copied()) {
            if out.contains(&p.id) {
                continue;
            }
            let view = LiveView {
                from_customer: sender.party_type == PartyType::Client,
                viewer_is_sender: p.id == sender.id,
                viewer: PartyFacts::from(p),
                viewer_present_at_send: true,
                unmasker_present_at_send: unmasker_present,
            };
            if !self.masks_live_for(view) {
                out.push(p.id.clone());
            }
        }
        out
    }
}
