// Enrich Alertmanager alerts with what the service catalog knows (owning
// team, on-call channel, runbook link, tier) and post one summary to a
// Slack-compatible incoming webhook. The catalog is optional: when it is
// down or does not know the service, the summary says so and still goes out.
import { log } from 'wolfe-sdk';
import { alertsOf, describeAlert } from './alerts.js';
import { slackMessage } from './slack.js';

export async function run(event) {
  const catalogUrl = required(event, 'catalog_url');
  const webhookUrl = required(event, 'webhook_url');
  const alerts = alertsOf(event.alert ?? event);
  if (alerts.length === 0) {
    throw new Error('the event holds no alerts (expected an alert or a notification with `alerts`)');
  }
  const enriched = [];
  for (const alert of alerts) {
    const summary = describeAlert(alert);
    summary.catalog = await lookUp(catalogUrl, summary.service);
    enriched.push(summary);
  }
  const message = slackMessage(enriched);
  const posted = await fetch(webhookUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(message),
  });
  if (!posted.ok) {
    throw new Error(`the chat webhook answered ${posted.status}`);
  }
  log.info(`posted ${enriched.length} alert(s) to the chat webhook`);
  return {
    posted: true,
    alerts: enriched.map((a) => ({
      name: a.name,
      service: a.service,
      status: a.status,
      team: a.catalog.team ?? null,
      enriched: a.catalog.found,
    })),
    text: message.text,
  };
}

/** Catalog facts for a service; `found: false` with a reason when unavailable. */
async function lookUp(catalogUrl, service) {
  if (!service) {
    return { found: false, reason: 'the alert has no service label' };
  }
  const url = `${catalogUrl.replace(/\/$/, '')}/${encodeURIComponent(service)}`;
  try {
    const response = await fetch(url);
    if (response.status === 404) {
      return { found: false, reason: 'not in the catalog' };
    }
    if (!response.ok) {
      log.warn(`catalog answered ${response.status} for ${service}`);
      return { found: false, reason: `catalog answered ${response.status}` };
    }
    const entry = await response.json();
    return { found: true, ...entry };
  } catch (e) {
    log.warn(`catalog unreachable for ${service}: ${e.message}`);
    return { found: false, reason: 'catalog unreachable' };
  }
}

function required(event, key) {
  const value = event[key];
  if (typeof value !== 'string' || value === '') {
    throw new Error(`event.${key} is required (a URL)`);
  }
  return value;
}
