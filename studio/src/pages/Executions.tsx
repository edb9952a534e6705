// The executions table: filters kept in the URL (so a filtered view can be
// shared), newest first, paged by the API's cursor, and kept up to date
// live by the server-sent event stream while the page is open.
import { useEffect, useMemo, useRef, useState } from "react";
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
  const [runbookText, setRunbook] = useSearchParam("runbook");
  const [ruleText, setRule] = useSearchParam("rule");
  // Typed filters query once typing pauses, not at every key.
  const runbook = useDebounced(runbookText, 300);
  const rule = useDebounced(ruleText, 300);
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

  // Only the newest request's answer is shown: an older, slower one (an
  // earlier filter) must not overwrite it.
  const latest = useRef(0);
  const load = async (after?: string) => {
    const mine = ++latest.current;
    try {
      const page = await unwrap(
        api.GET("/v1/tenants/{tenant}/executions", {
          params: { path: { tenant }, query: { ...query, limit: 50, cursor: after } },
        }),
      );
      if (mine !== latest.current) return;
      const more = page.executions.map(summaryOf);
      setRows((old) => (after && old ? [...old, ...more] : more));
      setCursor(page.next_cursor ?? null);
      setError(undefined);
    } catch (e) {
      if (mine === latest.current) setError(e);
    }
  };
  useEffect(() => {
    setRows(undefined);
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [tenant, query]);

  // Live: every change the server streams replaces the row with its id, or
  // adds it at the top. The stream is not filtered by status — a row must
  // also leave the table when its status no longer matches (`running` →
  // `succeeded`). The browser reconnects by itself if it drops; the server
  // then streams from now, so the table is read again to cover the gap.
  useEffect(() => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && key !== "since" && key !== "status") params.set(key, String(value));
    }
    const source = new EventSource(`/v1/tenants/${encodeURIComponent(tenant)}/executions/stream?${params}`);
    let dropped = false;
    source.onopen = () => {
      setLive(true);
      if (dropped) void load();
    };
    source.onerror = () => {
      dropped = true;
      setLive(false);
    };
    source.addEventListener("execution", (message) => {
      const summary = JSON.parse((message as MessageEvent<string>).data) as Summary;
      if (since && summary.created_at < since) return;
      const matches = !query.status || summary.status === query.status;
      setRows((old) => {
        if (!old) return old;
        const at = old.findIndex((r) => r.id === summary.id);
        if (!matches) return at >= 0 ? old.filter((r) => r.id !== summary.id) : old;
        if (at >= 0) return old.map((r, i) => (i === at ? summary : r));
        return [summary, ...old];
      });
    });
    return () => source.close();
    // eslint-disable-next-line react-hooks/exhaustive-deps
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
          <input value={runbookText} onChange={(e) => setRunbook(e.target.value.trim())} placeholder="any" />
        </label>
        <label>
          Rule
          <input value={ruleText} onChange={(e) => setRule(e.target.value.trim())} placeholder="any" />
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
        <p className="empty">
          {environment && cursor
            ? `None of the ${rows?.length ?? 0} newest executions ran in ${environment} (the environment is filtered here, in the page): load older ones.`
            : "No executions match these filters."}
        </p>
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

/** `value`, once it has stopped changing for `ms`. */
function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
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
