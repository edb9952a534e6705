// Reading Alertmanager's webhook payloads: one alert, or a notification
// whose `alerts` holds many.

/** The alerts in an event: a whole notification or a single alert. */
export function alertsOf(event) {
  if (Array.isArray(event?.alerts)) {
    return event.alerts;
  }
  if (event?.labels) {
    return [event];
  }
  return [];
}

/** The fields of one alert a summary needs. */
export function describeAlert(alert) {
  const labels = alert.labels ?? {};
  const annotations = alert.annotations ?? {};
  return {
    name: labels.alertname ?? 'unnamed alert',
    status: alert.status ?? 'firing',
    severity: labels.severity ?? 'unknown',
    service: labels.service ?? labels.job ?? null,
    instance: labels.instance ?? null,
    summary: annotations.summary ?? annotations.description ?? '',
    startsAt: alert.startsAt ?? null,
  };
}
