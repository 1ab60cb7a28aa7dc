//! KEDA: the ScaledObjects and TriggerAuthentications render writes, and the cron windows
//! their triggers encode, checked against KEDA's own rule.

pub mod cron;
pub mod objects;
