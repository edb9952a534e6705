// The environments a runbook version is deployed to, in promotion order.
export const ENVIRONMENTS = ["dev", "test", "prod"] as const;
export type Env = (typeof ENVIRONMENTS)[number];
