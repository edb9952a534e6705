// The executions table: filters kept in the URL (so a filtered view can be
// shared), newest first, paged by the API's cursor, and kept up to date
// live by the server-sent event stream while the page is open.
import { useEffect, useMemo, useState } from "react";
import { Link } from "wouter";
import { api, unwrap, type Schemas } from "../api/client";
import { useSearchParam } from "../hooks";
import { useTenant } from "../session";
import { ErrorBox, Loading } from "../ui/State";
import { Status } from "../ui/Status";
import { Time, duration } from "../ui/Time";

type Summary = Schemas["ExecutionSummary"];
type Record = Schemas["ExecutionRecord"];
const STATUSES: Schemas["ExecutionStatus"][] = [
  "queued",
  "running",
  "awaiting_approval",
  "succeeded",
  "failed",
  "timed_out",
  "out_of_fuel",
  "out_of_memory",
  "suppressed",
  "cancelled",
];
const RANGES: [string, string, number][] = [
  ["", "Any time", 0],
  ["1h", "Last hour", 3600],
  ["24h", "Last 24 hours", 86400],
  ["7d", "Last 7 days", 7 * 86400],
];

/** The table's view of a full record (the list answers records, the stream summaries). */
export function summaryOf(r: Record): Summary {
  return {
    id: r.id,
    runbook: r.runbook,
    version: r.version,
    environment: r.environment,
    status: r.status,
    rule: r.rule,
    event: r.event,
    attempt: r.attempt,
    dry_run: r.dry_run ?? false,
    created_at: r.created_at,
    started_at: r.started_at,
    finished_at: r.finished_at,
    duration_ms: r.duration_ms,
    denied_calls: (r.capability_calls ?? []).filter((c) => !c.allowed).length,
    error_kind: r.error?.kind ?? null,
    suppressed_reason: r.suppressed?.reason ?? null,
  };
}

export function Executions() {
  const tenant = useTenant();
  const [status, setStatus] = useSearchParam("status");
  const [runbook, setRunbook] = useSearchParam("runbook");
  const [rule, setRule] = useSearchParam("rule");
  const [environment, setEnvironment] = useSearchParam("environment");
  const [denied, setDenied] = useSearchParam("denied");
  const [range, setRange] = useSearchParam("range");
  const [rows, setRows] = useState<Summary[]>();
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [live, setLive] = useState(false);

  const since = useMemo(() => {
    const seconds = RANGES.find(([key]) => key === range)?.[2] ?? 0;
    return seconds ? new Date(Date.now() - seconds * 1000).toISOString().replace(/\.\d+Z$/, "Z") : undefined;
  }, [range]);
  const query = useMemo(
    () => ({
      status: (status || undefined) as Schemas["ExecutionStatus"] | undefined,
      runbook: runbook || undefined,
      rule: rule || undefined,
      denied: denied === "" ? undefined : denied === "true",
      since,
    }),
    [status, runbook, rule, denied, since],
  );
  const keep = (s: Summary) => !environment || s.environment === environment;

  const load = async (after?: string) => {
    try {
      const page = await unwrap(
        api.GET("/v1/tenants/{tenant}/executions", {
          params: { path: { tenant }, query: { ...query, limit: 50, cursor: after } },
        }),
      );
      const more = page.executions.map(summaryOf);
      setRows((old) => (after && old ? [...old, ...more] : more));
      setCursor(page.next_cursor ?? null);
      setError(undefined);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    setRows(undefined);
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [tenant, query]);

  // Live: every change the server streams replaces the row with its id, or
  // adds it at the top. The browser reconnects by itself if it drops.
  useEffect(() => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && key !== "since") params.set(key, String(value));
    }
    const source = new EventSource(`/v1/tenants/${encodeURIComponent(tenant)}/executions/stream?${params}`);
    source.onopen = () => setLive(true);
    source.onerror = () => setLive(false);
    source.addEventListener("execution", (message) => {
      const summary = JSON.parse((message as MessageEvent<string>).data) as Summary;
      if (since && summary.created_at < since) return;
      setRows((old) => {
        if (!old) return old;
        const at = old.findIndex((r) => r.id === summary.id);
        if (at >= 0) return old.map((r, i) => (i === at ? summary : r));
        return [summary, ...old];
      });
    });
    return () => source.close();
  }, [tenant, query, since]);

  const shown = rows?.filter(keep);
  return (
    <section aria-labelledby="executions-title">
      <div className="title-row">
        <h1 id="executions-title">Executions</h1>
        <span className={`live ${live ? "on" : ""}`} role="status">
          {live ? "Live" : "Not live"}
        </span>
      </div>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">Any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replaceAll("_", " ")}
              </option>
            ))}
          </select>
        </label>
        <label>
          Runbook
          <input value={runbook} onChange={(e) => setRunbook(e.target.value.trim())} placeholder="any" />
        </label>
        <label>
          Rule
          <input value={rule} onChange={(e) => setRule(e.target.value.trim())} placeholder="any" />
        </label>
        <label>
          Environment
          <select value={environment} onChange={(e) => setEnvironment(e.target.value)}>
            <option value="">Any</option>
            <option value="dev">dev</option>
            <option value="test">test</option>
            <option value="prod">prod</option>
          </select>
        </label>
        <label>
          Denied calls
          <select value={denied} onChange={(e) => setDenied(e.target.value)}>
            <option value="">Either</option>
            <option value="true">With denied calls</option>
            <option value="false">Without</option>
          </select>
        </label>
        <label>
          Time
          <select value={range} onChange={(e) => setRange(e.target.value)}>
            {RANGES.map(([key, label]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorBox error={error} retry={() => load()} />
      {!shown ? (
        !error && <Loading what="executions" />
      ) : shown.length === 0 ? (
        <p className="empty">No executions match these filters.</p>
      ) : (
        <ExecutionTable rows={shown} />
      )}
      {cursor && (
        <button type="button" onClick={() => load(cursor)}>
          Load older executions
        </button>
      )}
    </section>
  );
}

export function ExecutionTable({ rows }: { rows: Summary[] }) {
  return (
    <div className="table-wrap">
      <table className="executions">
        <thead>
          <tr>
            <th scope="col">Created</th>
            <th scope="col">Runbook</th>
            <th scope="col">Env</th>
            <th scope="col">Status</th>
            <th scope="col">Rule</th>
            <th scope="col">Denied</th>
            <th scope="col">Duration</th>
            <th scope="col">Attempt</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} data-id={r.id} data-status={r.status}>
              <td>
                <Link href={`/executions/${encodeURIComponent(r.id)}`}>
                  <Time value={r.created_at} />
                </Link>
              </td>
              <td>
                {r.runbook} <span className="muted">{r.version ?? ""}</span>
              </td>
              <td>{r.environment}</td>
              <td>
                <Status status={r.status} />
                {r.suppressed_reason && <span className="muted"> {r.suppressed_reason}</span>}
                {r.error_kind && <span className="muted"> {r.error_kind}</span>}
              </td>
              <td>{r.rule ?? <span className="muted">manual</span>}</td>
              <td>{r.denied_calls > 0 ? <span className="denied">{r.denied_calls} denied</span> : "0"}</td>
              <td>{duration(r.duration_ms)}</td>
              <td>{r.attempt}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
