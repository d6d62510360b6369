//! Every limit the normalizer applies, in one place, each with where it comes from.
//!
//! Field limits match Relay's event schema (`relay-event-schema`, the `max_chars`, `max_depth`
//! and `max_bytes` attributes of each field): a value within them is stored by Sentry as sent.
//! Where Relay has no limit (number of tags, entries per map or array), the choice is ours and
//! says why.

/// Budget for a whole event serialized as JSON, in bytes.
///
/// Relay rejects an event item over `max_event_size` (relay-config, 1 MiB); the Python SDK keeps
/// events under `MAX_EVENT_BYTES` = 10^6 (`sentry_sdk/serializer.py`). We use the Python SDK's
/// figure, which leaves about 48 KiB of the MiB for the envelope and item headers.
pub(crate) const MAX_EVENT_BYTES: usize = 1_000_000;

/// Deepest nesting of arrays and objects inside one databag (an `extra` value, a context, a
/// breadcrumb's `data`, ...), the bag itself being level 1. A container at this level is kept
/// but emptied, with its original length in `_meta`.
///
/// The Python SDK's `MAX_DATABAG_DEPTH` (5); Relay allows 5 (breadcrumb data) to 7 (`extra`).
pub(crate) const MAX_DEPTH: usize = 5;

/// Most entries kept in one array or object inside a databag.
///
/// Ours: Relay limits bags by bytes, not entries, and the Python SDK keeps only 10
/// (`MAX_DATABAG_BREADTH`), which cuts ordinary lists. 100 keeps them and still bounds the walk.
pub(crate) const MAX_BREADTH: usize = 100;

/// Bytes of one `extra` value. Relay: `ExtraValue` `max_bytes = 16_384`.
pub(crate) const EXTRA_VALUE_MAX_BYTES: usize = 16_384;
/// Bytes of all `extra` values together. Relay: `Event.extra` `max_bytes = 262_144`.
pub(crate) const EXTRA_MAX_BYTES: usize = 262_144;
/// Bytes of one context object. Relay: contexts are "large" bags (8 KiB); the develop docs'
/// size guidance says 8 kB per context.
pub(crate) const CONTEXT_MAX_BYTES: usize = 8_192;
/// Bytes of a breadcrumb's `data`. Relay: `Breadcrumb.data` `max_bytes = 2048`.
pub(crate) const BREADCRUMB_DATA_MAX_BYTES: usize = 2_048;
/// Bytes of `request.data` (the body). Relay: "large" bag; the develop docs say 8 kB.
pub(crate) const REQUEST_DATA_MAX_BYTES: usize = 8_192;
/// Bytes of `logentry.params`. Relay: `LogEntry.params` `bag_size = "medium"` (2 KiB).
pub(crate) const PARAMS_MAX_BYTES: usize = 2_048;
/// Bytes of small free-form bags: `mechanism.data` and the user's other fields. Relay:
/// "medium" bags (2 KiB), as `User.data`.
pub(crate) const SMALL_BAG_MAX_BYTES: usize = 2_048;

/// Characters of a tag key. Relay: `TagEntry` key `max_chars = 200`.
pub(crate) const TAG_KEY_MAX_CHARS: usize = 200;
/// Characters of a tag value. Relay: `TagEntry` value `max_chars = 200`.
pub(crate) const TAG_VALUE_MAX_CHARS: usize = 200;
/// Tags kept per event.
///
/// Ours: Relay has no count limit, but every tag is indexed; 200 tags at their longest are
/// about 80 KB, under a tenth of [`MAX_EVENT_BYTES`].
pub(crate) const MAX_TAGS: usize = 200;

/// Characters of `logentry.formatted` / `logentry.message`. Relay: `max_chars = "message"`
/// (8192); the develop docs: "message 8192 characters".
pub(crate) const MESSAGE_MAX_CHARS: usize = 8_192;
/// Characters of an exception's `value`. Relay: `Exception.value` `max_chars = 8192`.
pub(crate) const EXCEPTION_VALUE_MAX_CHARS: usize = 8_192;
/// Characters of an exception's `type` and `module`. Relay: `max_chars = 256`.
pub(crate) const EXCEPTION_TYPE_MAX_CHARS: usize = 256;
/// Exceptions kept in a chain. Ours, matching `capture_error`'s walk of `source()` (32).
pub(crate) const MAX_EXCEPTIONS: usize = 32;

/// Breadcrumbs kept per event, the newest: a ceiling for events built by hand. Ours: ten times
/// the `max_breadcrumbs` default (100, as in the Python SDK), so a raised option is respected;
/// the size budget sheds the oldest when they do not fit.
pub(crate) const MAX_BREADCRUMBS: usize = 1_000;
/// Characters of a breadcrumb's `message`. Relay: `Breadcrumb.message` `max_chars = 8192`.
pub(crate) const BREADCRUMB_MESSAGE_MAX_CHARS: usize = 8_192;
/// Characters of a breadcrumb's `type` and `category`. Relay: `max_chars = 128`.
pub(crate) const BREADCRUMB_CATEGORY_MAX_CHARS: usize = 128;

/// Characters of `transaction`. Relay: `Event.transaction` `max_chars = 200`.
pub(crate) const TRANSACTION_MAX_CHARS: usize = 200;
/// Characters of `logger`. Relay: `Event.logger` `max_chars = 64` (a database limit).
pub(crate) const LOGGER_MAX_CHARS: usize = 64;
/// Characters of `server_name`. Relay: `Event.server_name` `max_chars = 256`.
pub(crate) const SERVER_NAME_MAX_CHARS: usize = 256;
/// Characters of `release`. Relay: `Event.release` `max_chars = 200`.
pub(crate) const RELEASE_MAX_CHARS: usize = 200;
/// Characters of `environment`. Relay: `Event.environment` `max_chars = 64`.
pub(crate) const ENVIRONMENT_MAX_CHARS: usize = 64;
/// Characters of `dist`. Sentry stores dists in a 64-character column.
pub(crate) const DIST_MAX_CHARS: usize = 64;

/// Characters of any other string the SDK sends (fingerprint parts, request URL and headers,
/// user fields, frame fields). Ours: the message limit, so no single string dominates.
/// Strings inside databags are bounded by their bag's bytes instead, as Relay bounds them.
pub(crate) const STRING_MAX_CHARS: usize = 8_192;
/// Fingerprint parts kept. Ours: grouping needs a handful.
pub(crate) const MAX_FINGERPRINT: usize = 32;

/// Deepest nesting kept in `_meta` itself (which a `before_send` hook may have changed).
/// The annotations the normalizer writes are at most about a dozen levels deep.
pub(crate) const META_MAX_DEPTH: usize = 32;
