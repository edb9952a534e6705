//! Ingest: how events enter Wolfe (webhooks now, SQS next), authenticated and
//! cut into [`event::Event`]s before they are made durable.

pub mod event;
pub mod source;
pub mod sqs;
pub mod webhook;
