// Studio in a real browser (Debian's Chromium driven by playwright-core)
// against a real `wolfe serve`. Started by host/tests/service_api/studio.rs,
// which sets up the server and hands over STUDIO_TEST_CONFIG: a JSON file
// with the server's URL, the tenant's tokens and where screenshots go.
//
//   node --test studio/tests/   (with STUDIO_TEST_CONFIG set)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const config = JSON.parse(readFileSync(process.env.STUDIO_TEST_CONFIG, "utf8"));
const { base, tenant, tokens, screenshots } = config;
mkdirSync(screenshots, { recursive: true });

const executablePath = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find(existsSync);
let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});
after(async () => browser?.close());

/** A fresh browser context (its own cookies), at 1280×800. */
async function newPage(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, baseURL: base });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  // Name the element behind any CSP violation (the console says only what).
  await page.addInitScript(() =>
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(`CSP violation of ${e.violatedDirective} by ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} on ${(e.target?.outerHTML ?? "").slice(0, 160)}`),
    ),
  );
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    // A CSP violation is reported on the console: none may happen.
    if (m.type() === "error" && /Content Security Policy|Refused to|CSP violation/.test(m.text())) problems.push(m.text());
  });
  return { page, context, problems };
}

async function signIn(page, token) {
  await page.goto("/");
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

/** Runs `body` with a signed-in page; a failure leaves a screenshot. */
async function withPage(name, token, body) {
  const { page, context, problems } = await newPage();
  try {
    if (token) await signIn(page, token);
    await body(page, context);
    assert.deepEqual(problems, []);
  } catch (e) {
    await shot(page, `failed-${name}`).catch(() => undefined);
    throw e;
  } finally {
    await context.close();
  }
}

async function shot(page, name) {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

/** Posts an alert to the webhook source, as a sender would. */
async function postAlert(alert) {
  const response = await fetch(`${base}${config.hook}`, {
    method: "POST",
    headers: { authorization: `Bearer ${tokens.sender}`, "content-type": "application/json" },
    body: JSON.stringify(alert),
  });
  const text = await response.text();
  assert.equal(response.status, 202, text);
  return JSON.parse(text);
}

async function api(path, token = tokens.admin) {
  const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  assert.ok(response.ok, `${path}: ${response.status}`);
  return response.json();
}

test("sign in, follow every navigation link, see each page load", async () => {
  const { page, context, problems } = await newPage();
  const first = Date.now();
  await page.goto("/");
  await page.getByLabel("API token").waitFor();
  const loadMs = Date.now() - first;
  await shot(page, "00-sign-in");
  // A wrong token is refused with a visible message.
  await page.getByLabel("API token").fill("wolfe_not-a-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").waitFor();
  await signIn(page, tokens.admin);
  const headers = (await context.request.get(`${base}/`)).headers();
  assert.match(headers["content-security-policy"], /script-src 'self'/);
  assert.doesNotMatch(headers["content-security-policy"], /unsafe-inline/);
  const pages = ["Overview", "Runbooks", "Executions", "Rules", "Sources", "Safety", "Audit", "Settings"];
  for (const [i, name] of pages.entries()) {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();
    await page.getByRole("heading", { level: 1, name }).waitFor();
    await page.waitForLoadState("networkidle").catch(() => undefined);
    // No page is left loading or failing.
    await assert.doesNotReject(page.getByText(/^Loading /).first().waitFor({ state: "detached", timeout: 10_000 }));
    assert.equal(await page.locator(".error").count(), 0, `${name} shows an error: ${await page.locator(".error").allTextContents()}`);
    await shot(page, `${String(i + 1).padStart(2, "0")}-${name.toLowerCase()}`);
  }
  // A shared link opens its page after a reload.
  await page.goto("/executions?status=succeeded");
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Executions" }).waitFor();
  assert.equal(await page.getByLabel("Status").inputValue(), "succeeded");
  // A narrow window still shows the navigation.
  await page.setViewportSize({ width: 420, height: 800 });
  await page.getByRole("link", { name: "Runbooks", exact: true }).waitFor();
  await shot(page, "10-narrow-executions");
  assert.deepEqual(problems, []);
  console.log(`first page (sign-in) ready in ${loadMs} ms`);
  await context.close();
});

test("write a Python runbook from the template, build it on the server, run it, deploy it", () =>
  withPage("editor", tokens.admin, async (page) => {
    await page.goto("/runbooks/new");
    await page.getByLabel("Runbook name").fill("py-check");
    await page.getByRole("button", { name: "Python template" }).click();
    await page.getByRole("tab", { name: "app.py" }).click();
    const editor = page.locator(".code-editor .cm-content");
    await editor.waitFor();
    await shot(page, "20-editor-template");
    // Change it: the output gains a field the template does not have.
    const source = await page.evaluate(() => document.querySelector(".code-editor .cm-content").innerText);
    assert.match(source, /def /, "the Python template is in the editor");
    await editor.click();
    await page.keyboard.press("Control+End");
    await page.keyboard.press("Enter");
    await page.keyboard.insertText("STUDIO_MARK = 'edited in studio'\n");
    const text = await page.evaluate(() => document.querySelector(".code-editor .cm-content").innerText);
    assert.match(text, /edited in studio/);
    await page.getByRole("button", { name: /^Build / }).click();
    await page.getByText(/Built and stored py-check/).waitFor({ timeout: 240_000 });
    await page.getByRole("button", { name: "Run in dev" }).click();
    const result = page.getByRole("region", { name: "Test run result" });
    await result.getByText("succeeded").first().waitFor({ timeout: 60_000 });
    const output = await result.getByLabel("Output").innerText();
    assert.match(output, /"service"/, `the template's output: ${output}`);
    await shot(page, "21-editor-run");
    // It is deployed to dev, with its source kept.
    const detail = await api(`/v1/tenants/${tenant}/runbooks/py-check`);
    assert.equal(detail.deployments.dev, "0.1.0");
    const kept = await api(`/v1/tenants/${tenant}/runbooks/py-check/versions/0.1.0/source`);
    assert.match(kept.files["app.py"], /edited in studio/);
    // A build error shows the compiler's message.
    await editor.click();
    await page.keyboard.press("Control+End");
    await page.keyboard.insertText("def broken(:\n");
    await page.getByRole("button", { name: /^Build / }).click();
    // 0.1.0 is stored: other source under the same version is refused,
    // and Studio offers the next version.
    const error = page.locator(".build-error");
    await error.getByText(/conflict/).waitFor({ timeout: 60_000 });
    await page.getByRole("button", { name: "Bump to 0.1.1 and build" }).click();
    await error.getByText(/build_failed/).waitFor({ timeout: 240_000 });
    assert.match(await error.innerText(), /SyntaxError/, "the compiler's message is shown");
    await shot(page, "22-editor-build-error");
    // Fixed, 0.1.1 builds; the runbook's page shows how its source changed.
    // (Deleted, then typed: replacing highlighted text in one step makes
    // Chromium's editing try an inline style, which the CSP refuses.)
    await editor.click();
    await page.keyboard.press("Control+End");
    await page.keyboard.press("Shift+ArrowUp");
    await page.keyboard.press("Backspace");
    await page.keyboard.insertText("SECOND_MARK = 2\n");
    await page.getByRole("button", { name: "Build 0.1.1" }).click();
    await page.getByText(/Built and stored py-check 0.1.1/).waitFor({ timeout: 240_000 });
    await page.goto("/runbooks/py-check");
    await page.getByLabel("From", { exact: true }).selectOption("0.1.0");
    await page.getByLabel("To", { exact: true }).selectOption("0.1.1");
    await page.getByRole("button", { name: "Show the difference" }).click();
    const changes = page.getByRole("region", { name: "Changes in app.py" });
    await changes.getByText("+ SECOND_MARK = 2").waitFor();
    await shot(page, "23-runbook-source-diff");
}));

test("executions appear live, a denied call is marked, a promotion shows its diff", () =>
  withPage("live", tokens.admin, async (page) => {
    await page.goto("/executions");
    await page.getByText("Live", { exact: true }).waitFor();
    const before = await page.locator("table.executions tbody tr").count();
    // An alert whose rule makes the runbook call a URL its manifest does not grant.
    await postAlert({ alerts: [{ fingerprint: "denied-1", labels: { alertname: "Denied", service: "db" } }] });
    await page.locator("table.executions tbody tr").nth(before).waitFor({ timeout: 20_000 });
    const row = page.locator("table.executions tbody tr", { hasText: "denied" }).first();
    await row.waitFor({ timeout: 20_000 });
    await shot(page, "30-executions-live");
    await row.getByRole("link").click();
    await page.getByRole("heading", { name: /Capability trail/ }).waitFor();
    const denied = page.locator('table.trail tr[data-denied="true"]');
    assert.ok((await denied.count()) >= 1, "the denied call is in the trail, marked");
    assert.match(await denied.first().innerText(), /denied/);
    // Where it came from: the event, and which rule of its source matched.
    const origin = page.getByRole("region", { name: "The event it came from" });
    await origin.getByText("matched", { exact: false }).first().waitFor();
    assert.match(await origin.innerText(), /call-out → conformance: matched/);
    assert.match(await origin.getByLabel("Event data").innerText(), /"alertname": "Denied"/);
    await shot(page, "31-execution-denied");
    // Its transcript: every host call with the host's answer, the refusal
    // among them, and how to replay it.
    const transcript = page.getByRole("region", { name: "Transcript" });
    assert.match(await transcript.innerText(), /host calls? recorded[\s\S]*wolfe replay /);
    await transcript.getByRole("button", { name: "Show the calls" }).click();
    const calls = transcript.getByRole("table", { name: "Recorded calls" });
    await calls.waitFor();
    assert.ok((await calls.locator('tr[data-refused="true"]').count()) >= 1, "the refused call is in the transcript");
    await shot(page, "34-execution-transcript");

    // The rule tried on the event that fired it: it matches, and renders
    // the input the runbook got.
    await page.goto("/rules/call-out");
    await page.getByRole("button", { name: "Use the latest event" }).click();
    await page.getByLabel("Sample event (JSON)").filter({ hasText: "Denied" }).waitFor();
    await page.getByRole("button", { name: "Test", exact: true }).click();
    await page.getByText("Matches.").waitFor();
    assert.match(await page.getByLabel("Rendered input").innerText(), /forbidden\/db/);
    await shot(page, "33-rule-test");

    // Before promoting: the older version replayed against dev's recorded
    // executions, on the server, nothing sent.
    await page.goto(`/runbooks/${config.promote.runbook}`);
    const replay = page.getByRole("form", { name: "Replay" });
    await replay.getByLabel("Version").selectOption(config.promote.older);
    await replay.getByLabel("Executions of").selectOption("dev");
    await replay.getByRole("button", { name: "Replay" }).click();
    const summary = page.getByRole("status", { name: "Replay summary" });
    await summary.waitFor({ timeout: 20_000 });
    assert.match(await summary.innerText(), new RegExp(`^${config.promote.older} against [1-9]\\d* executions? of dev: [1-9]\\d* identical`));
    assert.ok((await page.getByRole("table", { name: "Replay results" }).locator("tbody tr").count()) >= 1);
    await shot(page, "35-replay-candidate");

    // Promote dev → test: the dialog shows what the new version may reach.
    await page.getByRole("button", { name: "Promote from dev" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText(config.promote.added).waitFor();
    await shot(page, "32-promote-diff");
    await dialog.getByRole("button", { name: "Promote from dev" }).click();
    await dialog.waitFor({ state: "hidden" });
    const after = await api(`/v1/tenants/${tenant}/runbooks/${config.promote.runbook}`);
    assert.equal(after.deployments.test, after.deployments.dev);
}));

test("an alert's labels holding markup render as text: no script runs, no request is made", () =>
  withPage("markup", null, async (page) => {
    const requests = [];
    page.on("request", (r) => requests.push(r.url()));
    await signIn(page, tokens.admin);
    const accepted = await postAlert({
      alerts: [
        {
          fingerprint: "xss-1",
          labels: {
            alertname: "Echo",
            service: '<img src=x onerror="window.__xss=1;fetch(\'/pwned-img\')">',
            summary: "<script>window.__xss=2;fetch('/pwned-script')</script>",
          },
        },
      ],
    });
    const id = accepted.executions[0];
    assert.ok(id, JSON.stringify(accepted));
    await page.goto(`/executions/${id}`);
    await page.getByText("<script>window.__xss=2", { exact: false }).first().waitFor();
    // JSON shows the label's quotes escaped: onerror=\"window.__xss=1…
    await page.getByText("<img src=x onerror=", { exact: false }).first().waitFor();
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.locator("main img").count(), 0);
    assert.equal(await page.locator("main script").count(), 0);
    await page.waitForTimeout(500);
    assert.deepEqual(requests.filter((u) => /pwned|\/x$/.test(u)), []);
    await shot(page, "40-execution-markup-as-text");
}));

test("signed in as an auditor, no edit control is shown", () =>
  withPage("auditor", tokens.auditor, async (page) => {
    await page.goto("/runbooks");
    await page.getByRole("heading", { level: 1, name: "Runbooks" }).waitFor();
    await page.getByRole("link", { name: config.promote.runbook }).click();
    await page.getByRole("heading", { level: 1, name: config.promote.runbook }).waitFor();
    for (const name of [/New runbook/, /Edit in Studio/, /Deploy/, /Promote/]) {
      assert.equal(await page.getByRole("link", { name }).count() + (await page.getByRole("button", { name }).count()), 0, `${name} shown to an auditor`);
    }
    await page.goto("/rules");
    await page.getByRole("heading", { level: 1, name: "Rules" }).waitFor();
    assert.equal(await page.getByRole("link", { name: "New rule" }).count(), 0);
    assert.equal(await page.getByRole("checkbox").count(), 0);
    await page.goto("/audit");
    await page.getByText(/The hash chain holds/).waitFor();
    await shot(page, "50-auditor-audit");
    await page.goto("/settings");
    await page.getByRole("heading", { level: 1, name: "Settings" }).waitFor();
    assert.equal(await page.getByRole("button", { name: /Create token|Set secret|Save connector/ }).count(), 0);
}));

test("the overview shows what the stats API reports", () =>
  withPage("overview", tokens.admin, async (page) => {
    const stats = await api(`/v1/tenants/${tenant}/stats?window=24h`);
    const total = Object.values(stats.totals).reduce((a, b) => a + b, 0);
    assert.ok(total > 0, "the earlier tests ran executions");
    await page.goto("/");
    const card = page.locator(".stat", { hasText: "Executions" });
    await card.waitFor();
    assert.equal((await card.locator(".big").innerText()).replaceAll(/\D/g, ""), String(total));
    await page.getByRole("img", { name: "Executions by status" }).waitFor();
    await page.getByRole("img", { name: "Events per source" }).waitFor();
    await shot(page, "60-overview-with-data");
    await page.getByRole("button", { name: "Last 7 days" }).click();
    await page.waitForURL(/window=7d/);
    await page.getByRole("img", { name: "Executions by status" }).waitFor();
    await shot(page, "61-overview-7d");
  }));

test("a source is switched off and on from its list", () =>
  withPage("sources", tokens.admin, async (page) => {
    await page.goto("/sources");
    const toggle = page.getByRole("checkbox", { name: "Enable source am" });
    assert.equal(await toggle.isChecked(), true);
    await toggle.click();
    await page.getByRole("checkbox", { name: "Enable source am", checked: false }).waitFor();
    assert.equal((await api(`/v1/tenants/${tenant}/sources/am`)).enabled, false);
    await shot(page, "70-sources-one-off");
    await page.getByRole("checkbox", { name: "Enable source am" }).click();
    await page.getByRole("checkbox", { name: "Enable source am", checked: true }).waitFor();
    assert.notEqual((await api(`/v1/tenants/${tenant}/sources/am`)).enabled, false);
  }));

test("an execution awaiting approval is approved from Safety, with a comment for the audit log", () =>
  withPage("approval", tokens.admin, async (page) => {
    const accepted = await postAlert({ alerts: [{ fingerprint: "approve-1", labels: { alertname: "Approve", service: "payments" } }] });
    const id = accepted.executions[0];
    assert.ok(id, JSON.stringify(accepted));
    await page.goto("/safety");
    const row = page.locator("tr", { hasText: "needs-approval" });
    await row.getByRole("button", { name: "Approve" }).click();
    const dialog = page.getByRole("dialog", { name: "Approve this execution?" });
    await dialog.getByText("key payments").waitFor();
    await dialog.getByLabel("Comment for the audit log").fill("checked the payments dashboard");
    await shot(page, "80-approve-dialog");
    await dialog.getByRole("button", { name: "Approve and run" }).click();
    await page.getByText("Nothing waits for a decision.").waitFor();
    let record;
    for (let i = 0; i < 100; i++) {
      record = await api(`/v1/tenants/${tenant}/executions/${id}`);
      if (record.status === "succeeded") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(record.status, "succeeded");
    assert.equal(record.approval.decision, "approved");
    assert.equal(record.approval.comment, "checked the payments dashboard");
  }));
