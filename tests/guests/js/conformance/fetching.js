// The standard fetch(), which reaches the host through wasi:http and must be
// held to exactly the same grants and trail as the SDK's http helpers.

export async function fetchCase(event) {
  try {
    const init = { method: event.method ?? 'GET' };
    if (event.body !== undefined) {
      init.body = event.body;
      init.headers = { 'Content-Type': 'text/plain' };
    }
    const response = await fetch(event.url, init);
    return { status: response.status, body: await response.text() };
  } catch (e) {
    return { error: `${e.name}: ${e.message}` };
  }
}

export async function fetchFlood(event) {
  const outcomes = { ok: 0, refused: 0 };
  for (let i = 0; i < event.count; i++) {
    try {
      await fetch(event.url);
      outcomes.ok += 1;
    } catch {
      outcomes.refused += 1;
    }
  }
  return outcomes;
}
