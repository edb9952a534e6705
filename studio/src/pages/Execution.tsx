// One execution: what it was given, what it did, what it reached and was
// refused, and the buttons to run it again or stop it.
import { useEffect, useState } from "react";
import { Link, useLocation, useParams } from "wouter";
import { api, unwrap, type Schemas } from "../api/client";
import { useLoad } from "../hooks";
import { useCan, useTenant } from "../session";
import { Decide } from "../ui/Decide";
import { Json } from "../ui/Json";
import { TranscriptSection } from "../ui/Replay";
import { ErrorBox, Loaded } from "../ui/State";
import { Status } from "../ui/Status";
import { Time, bytes, duration } from "../ui/Time";

type Record = Schemas["ExecutionRecord"];
const UNFINISHED = ["queued", "running", "awaiting_approval"];

export function ExecutionPage() {
  const { id } = useParams<{ id: string }>();
  const tenant = useTenant();
  const state = useLoad(
    () => unwrap(api.GET("/v1/tenants/{tenant}/executions/{id}", { params: { path: { tenant, id } } })),
    [tenant, id],
  );
  // While it has not finished, look again every second.
  const unfinished = state.data && UNFINISHED.includes(state.data.status);
  useEffect(() => {
    if (!unfinished) return;
    const timer = setInterval(state.reload, 1000);
    return () => clearInterval(timer);
  }, [unfinished, state.reload]);
  return (
    <Loaded state={state} what="the execution">
      {(record) => <ExecutionView record={record} onChange={state.reload} />}
    </Loaded>
  );
}

export function ExecutionView({ record, onChange }: { record: Record; onChange?: () => void }) {
  const denied = (record.capability_calls ?? []).filter((c) => !c.allowed).length;
  return (
    <article className="execution" aria-labelledby="execution-title">
      <div className="title-row">
        <h1 id="execution-title">
          {record.runbook} <span className="muted">{record.version ?? ""}</span>
        </h1>
        <Status status={record.status} />
        {onChange && <ExecutionActions record={record} onChange={onChange} />}
      </div>
      <dl className="facts">
        <dt>Execution</dt>
        <dd>
          <code>{record.id}</code>
        </dd>
        <dt>Environment</dt>
        <dd>{record.environment}</dd>
        <dt>Rule</dt>
        <dd>
          {record.rule ? (
            <Link href={`/rules/${encodeURIComponent(record.rule)}`}>{record.rule}</Link>
          ) : (
            <span className="muted">none (run by hand)</span>
          )}
        </dd>
        <dt>Event</dt>
        <dd>{record.event ? <code>{record.event}</code> : <span className="muted">none</span>}</dd>
        <dt>Created</dt>
        <dd>
          <Time value={record.created_at} />
        </dd>
        <dt>Started</dt>
        <dd>
          <Time value={record.started_at} />
        </dd>
        <dt>Finished</dt>
        <dd>
          <Time value={record.finished_at} />
        </dd>
        <dt>Duration</dt>
        <dd>{duration(record.duration_ms)}</dd>
        <dt>Fuel</dt>
        <dd>{record.fuel_consumed.toLocaleString()}</dd>
        <dt>Memory peak</dt>
        <dd>{bytes(record.memory_peak_bytes)}</dd>
        <dt>Attempt</dt>
        <dd>{record.attempt}</dd>
        {record.rerun_of && (
          <>
            <dt>Re-run of</dt>
            <dd>
              <Link href={`/executions/${encodeURIComponent(record.rerun_of)}`}>{record.rerun_of}</Link>
            </dd>
          </>
        )}
        {record.dry_run && (
          <>
            <dt>Dry run</dt>
            <dd>writes were withheld</dd>
          </>
        )}
      </dl>
      {record.suppressed && (
        <section aria-label="Suppression" className="callout">
          <h2>Suppressed: {record.suppressed.reason.replaceAll("_", " ")}</h2>
          <p>{record.suppressed.detail}</p>
          <p className="muted">Policy: {record.suppressed.policy}</p>
        </section>
      )}
      {record.error && (
        <section aria-label="Error" className="callout bad">
          <h2>Error: {record.error.kind.replaceAll("_", " ")}</h2>
          <pre className="json">{record.error.message}</pre>
          {record.error.backtrace && <pre className="json">{record.error.backtrace}</pre>}
        </section>
      )}
      <div className="two">
        <section>
          <h2>Input</h2>
          <Json value={record.input} label="Input" />
        </section>
        <section>
          <h2>Output</h2>
          <Json value={record.output ?? undefined} label="Output" />
        </section>
      </div>
      <section>
        <h2>
          Capability trail{" "}
          {denied > 0 && <span className="denied">{denied} denied</span>}
        </h2>
        <Trail calls={record.capability_calls ?? []} dropped={record.capability_calls_dropped ?? 0} />
      </section>
      <section>
        <h2>Logs</h2>
        <Logs entries={record.logs ?? []} />
      </section>
      {!UNFINISHED.includes(record.status) && <TranscriptSection id={record.id} summary={record.transcript} />}
      {record.event && <EventOrigin id={record.event} />}
    </article>
  );
}

/** The event that fired the execution, and what every rule of its source made of it. */
function EventOrigin({ id }: { id: string }) {
  const tenant = useTenant();
  const state = useLoad(() => unwrap(api.GET("/v1/tenants/{tenant}/events/{id}", { params: { path: { tenant, id } } })), [tenant, id]);
  return (
    <section aria-labelledby="event-title">
      <h2 id="event-title">The event it came from</h2>
      <Loaded state={state} what="the event">
        {({ event, rules }) => (
          <>
            <p>
              <code>{event.type}</code> from source <code>{event.source}</code>, received <Time value={event.time} />
            </p>
            <Json value={event.data} label="Event data" />
            <h3>Rules of the source</h3>
            <ul className="plain">
              {rules.map((r) => (
                <li key={r.rule}>
                  <Link href={`/rules/${encodeURIComponent(r.rule)}`}>{r.rule}</Link> → {r.runbook}:{" "}
                  {r.match.matched ? "matched" : <span className="muted">did not match ({r.match.failed?.check ?? "—"})</span>}
                  {r.outcome && "execution" in r.outcome && r.outcome.execution !== undefined && (
                    <>
                      {" "}
                      <Link href={`/executions/${encodeURIComponent(r.outcome.execution)}`}>{r.outcome.status}</Link>
                    </>
                  )}
                  {r.outcome && "note" in r.outcome && <span className="muted"> {String(r.outcome.note)}</span>}
                </li>
              ))}
            </ul>
          </>
        )}
      </Loaded>
    </section>
  );
}

function Trail({ calls, dropped }: { calls: Schemas["CapabilityCall"][]; dropped: number }) {
  if (calls.length === 0) return <p className="muted">It reached nothing outside the sandbox.</p>;
  return (
    <div className="table-wrap">
      <table className="trail">
        <thead>
          <tr>
            <th scope="col">Allowed</th>
            <th scope="col">Interface</th>
            <th scope="col">Operation</th>
            <th scope="col">Target</th>
            <th scope="col">Outcome</th>
            <th scope="col">Time</th>
          </tr>
        </thead>
        <tbody>
          {calls.map((c, i) => (
            <tr key={i} className={c.allowed ? "" : "denied-row"} data-denied={!c.allowed}>
              <td>{c.allowed ? "allowed" : <span className="denied">denied</span>}</td>
              <td>{c.interface}</td>
              <td>{c.operation}</td>
              <td className="wrap">{c.target}</td>
              <td className="wrap">{c.outcome}</td>
              <td>{(c.duration_us / 1000).toFixed(1)} ms</td>
            </tr>
          ))}
        </tbody>
      </table>
      {dropped > 0 && <p className="muted">{dropped} more calls were not recorded (the trail is capped).</p>}
    </div>
  );
}

function Logs({ entries }: { entries: Schemas["LogEntry"][] }) {
  if (entries.length === 0) return <p className="muted">No log lines.</p>;
  return (
    <ol className="logs" aria-label="Logs">
      {entries.map((e, i) => (
        <li key={i} className={`log-${e.level}`}>
          <span className="muted">+{e.at_ms} ms</span> <span className="badge">{e.level}</span>{" "}
          <span className="muted">{e.source}</span> <span className="message">{e.message}</span>
        </li>
      ))}
    </ol>
  );
}

function ExecutionActions({ record, onChange }: { record: Record; onChange: () => void }) {
  const tenant = useTenant();
  const canRun = useCan("run_runbooks");
  const [, navigate] = useLocation();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const path = { tenant, id: record.id };
  const rerun = async () => {
    setBusy(true);
    try {
      const accepted = await unwrap(
        api.POST("/v1/tenants/{tenant}/executions/{id}/rerun", { params: { path }, body: {} }),
      );
      navigate(`/executions/${encodeURIComponent(accepted.execution_id)}`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const cancel = async () => {
    try {
      await unwrap(api.POST("/v1/tenants/{tenant}/executions/{id}/cancel", { params: { path } }));
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  const canDecide = useCan("decide_approvals");
  const awaiting = record.status === "awaiting_approval" && canDecide;
  if (!canRun && !awaiting) return null;
  return (
    <span className="actions">
      {awaiting && (
        <Decide
          id={record.id}
          what={`${record.runbook} ${record.version ?? ""} in ${record.environment}${record.rule ? `, rule ${record.rule}` : ""}`}
          onDone={onChange}
        />
      )}
      {canRun && (
        <button type="button" onClick={rerun} disabled={busy}>
          Re-run
        </button>
      )}
      {canRun && UNFINISHED.includes(record.status) && (
        <button type="button" className="danger" onClick={cancel}>
          Cancel
        </button>
      )}
      <ErrorBox error={error} />
    </span>
  );
}
