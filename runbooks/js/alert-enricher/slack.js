// A Slack-compatible incoming-webhook message: `text` for notifications and
// plain clients, `blocks` for the rich view.

const ICON = { firing: ':rotating_light:', resolved: ':white_check_mark:' };

export function slackMessage(alerts) {
  const lines = alerts.map(line);
  const text =
    alerts.length === 1 ? lines[0] : `${alerts.length} alerts\n${lines.map((l) => `• ${l}`).join('\n')}`;
  const blocks = alerts.map((a) => ({
    type: 'section',
    text: { type: 'mrkdwn', text: `${line(a)}${a.summary ? `\n${a.summary}` : ''}` },
    fields: fields(a),
  }));
  return { text, blocks };
}

function line(a) {
  const icon = ICON[a.status] ?? ':grey_question:';
  const where = a.service ? ` on ${a.service}` : '';
  return `${icon} [${a.status.toUpperCase()}] ${a.name}${where} (${a.severity})`;
}

function fields(a) {
  const c = a.catalog;
  if (!c.found) {
    return [{ type: 'mrkdwn', text: `*Catalog:* ${c.reason}` }];
  }
  const out = [];
  if (c.team) out.push({ type: 'mrkdwn', text: `*Team:* ${c.team}` });
  if (c.oncall) out.push({ type: 'mrkdwn', text: `*On call:* ${c.oncall}` });
  if (c.tier) out.push({ type: 'mrkdwn', text: `*Tier:* ${c.tier}` });
  if (c.runbook_url) out.push({ type: 'mrkdwn', text: `*Runbook:* <${c.runbook_url}|open>` });
  return out;
}
