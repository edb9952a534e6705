//! Ingest: how events enter Wolfe (webhooks, SQS queues, schedules),
//! authenticated and cut into [`event::Event`]s before they are made durable.

pub mod emitted;
pub mod event;
pub mod schedule;
pub mod source;
pub mod sqs;
pub mod webhook;
