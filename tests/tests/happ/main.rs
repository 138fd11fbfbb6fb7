//! Sweettest scenarios for the media hApp: real conductors, each agent on its own, the
//! bundle from `workdir/` (packed by `scripts/setup.sh`).

mod common;

mod anonymous_uploads;
mod bundle;
mod calls;
mod content;
mod custodians;
mod custodians_e2e;
mod endpoints;
mod fetch_through;
mod kept_off_dht;
mod liveness;
mod node_e2e;
mod owner_credential;
mod place_membership;
mod reach_widening;
mod round_cost;
mod tokens;
mod validation;
mod versions;
