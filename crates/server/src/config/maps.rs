//! The two free-form map sections, `[endpoints.<tenant>]` and `[gms-chat-services]`:
//! their names are data, so they are not declared with `config_section!`, but each is
//! still described once, here, for the example file and the `PARLEY_` variables.

use std::collections::BTreeMap;

use toml::Table;

/// The endpoints section: `[endpoints.<tenant>]` tables of endpoint = queue.
pub(super) const ENDPOINTS: &str = "endpoints";
/// The GMS services section: `[gms-chat-services]`, service = "<tenant>:<endpoint>".
pub(super) const GMS_CHAT_SERVICES: &str = "gms-chat-services";

/// A free-form map section.
#[derive(Debug)]
pub(super) struct MapSpec {
    pub(super) name: &'static str,
    /// How it is written: `[endpoints.<tenant>]`.
    pub(super) header: &'static str,
    /// What a `PARLEY_` variable for one entry looks like.
    pub(super) variable: &'static str,
    /// The description, one line per line of the example file.
    pub(super) description: &'static str,
    /// The built-in default, as the section's TOML table.
    pub(super) default: fn() -> Table,
    /// Commented entries the example file shows after the default ones.
    pub(super) example: &'static str,
}

pub(super) const ENDPOINTS_MAP: MapSpec = MapSpec {
    name: ENDPOINTS,
    header: "[endpoints.<tenant>]",
    variable: "PARLEY_ENDPOINTS__<TENANT>__<ENDPOINT>=<queue>",
    description: "\
the Genesys `endpoints:<tenant>` section. Each option is
endpoint-name = interaction-queue-name. Clients name an endpoint as <tenant>:<endpoint>
(e.g. \"1:default\"); an unknown endpoint is refused.

- Tenant names are non-empty and use only A-Z, a-z, 0-9, _ and - (Genesys uses the
  tenant's DBID, e.g. 1). Quote digits-only or odd names if you like: [endpoints.\"1\"].
- Every tenant must set `default`: the queue new chats go to when no endpoint is named.
- Endpoint names must not contain `:`, spaces or control characters; queue names are 1
  to 64 ASCII letters, digits, -, _ and . (as in [queues.<name>]). An endpoint's queue
  needs no [queues.<name>] section.
- Naming any tenant here replaces the default below; PARLEY_ENDPOINTS__ variables add
  to (or change entries of) what this file says.

Default: one tenant \"1\" with default = \"default\".",
    default: || table(default_endpoints()),
    example: "webme = \"web-chat-queue\"",
};

pub(super) const GMS_CHAT_SERVICES_MAP: MapSpec = MapSpec {
    name: GMS_CHAT_SERVICES,
    header: "[gms-chat-services]",
    variable: "PARLEY_GMS_CHAT_SERVICES__<SERVICE>=<tenant>:<endpoint>",
    description: "\
Parley's own, modelled on the GMS `chat.<service>` sections. Each
option is service-name = \"<tenant>:<endpoint>\": a GMS Chat API v2 client calling
/genesys/2/chat/<service-name> gets its chats submitted to that endpoint of
[endpoints.<tenant>].

- Service names are non-empty and use only A-Z, a-z, 0-9, _ and -; they match exactly.
- Each value must name an endpoint that exists, e.g. \"1:default\".
- Naming any service here replaces the default below; PARLEY_GMS_CHAT_SERVICES__
  variables add to (or change entries of) what this file says. A present but empty
  section offers no service.
- Without this section, the default service is left out (not an error) when tenant 1
  has no `default` endpoint, i.e. when [endpoints] names other tenants only.

Default: customer-support = \"1:default\".",
    default: || table(default_gms_chat_services()),
    example: "sales = \"1:webme\"",
};

/// `[endpoints]` when neither the file nor a variable names a tenant.
pub(super) fn default_endpoints() -> BTreeMap<String, BTreeMap<String, String>> {
    let tenant = BTreeMap::from([("default".to_owned(), "default".to_owned())]);
    BTreeMap::from([("1".to_owned(), tenant)])
}

/// `[gms-chat-services]` when neither the file nor a variable names a service.
pub(super) fn default_gms_chat_services() -> BTreeMap<String, String> {
    BTreeMap::from([("customer-support".to_owned(), "1:default".to_owned())])
}

fn table<T: serde::Serialize>(value: T) -> Table {
    Table::try_from(value).expect("string maps serialize")
}
