//! The interaction record behind an ESP request: whether the interaction exists and is
//! online (the seed's `IsOnline` check, which a workflow should make and Parley makes for
//! it), and the properties `IdleControlConfigure` and `ConfigureSession` store on it.
//!
//! The language properties are only stored for now: the per-session language that will
//! read them comes with a later issue (`docs/esp.md` says so). The inactivity overrides
//! act on the session itself (`mod.rs`) and are kept here for workflows to read.

use parley_core::{SessionId, UserData};
use parley_store::{InteractionRecord, InteractionStore, SessionState, StoreError};
use tracing::error;

use super::error::{EspCode, EspError};
use super::idle::IdleControl;
use super::params::{Language, LANGUAGE_CODE, LANGUAGE_NAME};
use crate::state::AppState;

/// Property holding the session's `[inactivity-control]` overrides as a JSON object.
pub(crate) const IDLE_CONTROL: &str = "IdleControl";

/// Serialises the read-merge-write of `IdleControl` within this process, so two
/// concurrent `IdleControlConfigure` requests for a chat both take effect in order.
/// (Two instances on one PostgreSQL may still interleave; workflows configure a chat from
/// one strategy, one request at a time.)
static IDLE_CONTROL_WRITES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn backend(id: &SessionId, e: StoreError) -> EspError {
    error!(session_id = %id, error = %e, "ESP: interaction store failed");
    EspError::new(EspCode::Internal, "the interaction store failed")
}

/// The record of interaction `id`, refused when there is none (404) or when its chat is
/// over (409: `IsOnline` is false, there is no one to send to).
pub(crate) async fn online(
    state: &AppState,
    id: &SessionId,
) -> Result<InteractionRecord, EspError> {
    let record = state
        .store
        .interaction(id)
        .await
        .map_err(|e| backend(id, e))?
        .ok_or_else(|| EspError::new(EspCode::NotFound, format!("no interaction {id}")))?;
    if record.state == SessionState::Closed {
        return Err(EspError::new(
            EspCode::InteractionOffline,
            format!("interaction {id} is offline (IsOnline = 0): its chat session is closed"),
        ));
    }
    Ok(record)
}

/// Merges `set` into the interaction's properties; a vanished interaction is not found.
async fn update(state: &AppState, id: &SessionId, set: &UserData) -> Result<(), EspError> {
    let found = state
        .store
        .update_interaction_properties(id, set)
        .await
        .map_err(|e| backend(id, e))?;
    if found {
        Ok(())
    } else {
        Err(EspError::new(
            EspCode::NotFound,
            format!("no interaction {id}"),
        ))
    }
}

/// Stores the session's inactivity-control overrides after `idle` (property
/// `IdleControl`).
pub(crate) async fn store_idle_control(
    state: &AppState,
    id: &SessionId,
    idle: &IdleControl,
) -> Result<(), EspError> {
    let _one_at_a_time = IDLE_CONTROL_WRITES.lock().await;
    // Read under the lock, so the merge starts from the latest stored overrides.
    let record = online(state, id).await?;
    let merged = idle.apply(record.properties.get(IDLE_CONTROL).map(String::as_str));
    let json = serde_json::Value::Object(merged).to_string();
    update(
        state,
        id,
        &UserData::from([(IDLE_CONTROL.to_owned(), json)]),
    )
    .await
}

/// Stores the session's language (properties `GCTI_LanguageCode` / `GCTI_LanguageName`).
/// The one not given is cleared (empty), so a later name is not shadowed by an earlier
/// code.
pub(crate) async fn store_language(
    state: &AppState,
    id: &SessionId,
    language: &Language,
) -> Result<(), EspError> {
    let (code, name) = match language {
        Language::Code(c) => (c.clone(), String::new()),
        Language::Name(n) => (String::new(), n.clone()),
    };
    let set = UserData::from([
        (LANGUAGE_CODE.to_owned(), code),
        (LANGUAGE_NAME.to_owned(), name),
    ]);
    update(state, id, &set).await
}
