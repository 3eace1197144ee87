//! `RouteError`: why the router refused an input. A refusal changes nothing; the shell
//! maps each variant to a stable wire code.

use thiserror::Error;

/// A refused routing input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RouteError {
    /// The agent is not logged in.
    #[error("the agent is not logged in")]
    NotLoggedIn,
    /// The queue is not configured.
    #[error("no such queue")]
    UnknownQueue,
    /// The router does not know this interaction.
    #[error("no such interaction")]
    UnknownInteraction,
    /// The interaction was already submitted and is still routed.
    #[error("the interaction is already being routed")]
    AlreadySubmitted,
    /// The chat session of the interaction has ended; nobody can join it any more.
    #[error("the interaction's chat is over")]
    InteractionOver,
    /// The agent has no pending offer of this interaction.
    #[error("no such offer")]
    NoSuchOffer,
    /// The agent is not handling this interaction (or not in its chat any more).
    #[error("the agent does not handle this interaction")]
    NotHandling,
    /// The agent already handles or supervises this interaction.
    #[error("the agent is already in this interaction")]
    AlreadyHandling,
    /// The interaction already has a pending offer (one offer at a time).
    #[error("the interaction already has a pending offer")]
    OfferPending,
    /// The invited agent is not ready, disconnected or without free capacity.
    #[error("the agent is not available")]
    AgentUnavailable,
    /// Only supervisors may monitor, coach or barge in.
    #[error("the agent is not a supervisor")]
    NotSupervisor,
    /// Mark done needs the agent to have left the chat first.
    #[error("the agent is still in the chat")]
    StillInChat,
    /// Transfer to a queue while other agents are in the chat: leave instead.
    #[error("other agents are in the chat")]
    Conferenced,
}
