//! Outgoing webhooks: what a webhook URL may be ([`WebhookUrl`]), where a call may go
//! ([`EgressPolicy`], applied when a URL is set and again to the address each call connects
//! to), how a call is signed ([`signature`]) and the client that makes it
//! ([`WebhookClient`]). The API's `/webhook` endpoint and the notifier role both use it.

mod client;
mod policy;
mod resolver;
mod signature;
mod url;

pub use self::client::{Call, DeliveryError, WebhookClient, DELIVERY_HEADER};
pub use self::policy::{internal_range, parse_allow_entry, EgressPolicy, Refusal};
pub use self::signature::{signature, SIGNATURE_HEADER};
pub use self::url::{UrlError, WebhookUrl};
