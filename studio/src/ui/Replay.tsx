// Record and replay in Studio: an execution's transcript (every host call
// with the host's answer), its export for `wolfe replay --file`, and a
// candidate version replayed on the server against an environment's recorded
// executions. Everything a call carries came from a runbook or the world, so
// it is shown as text only.
import { useState } from "react";
import { Link } from "wouter";
import { api, unwrap, type Schemas } from "../api/client";
import { ENVIRONMENTS, type Env } from "../environments";
import { useAction } from "../hooks";
import { useCan, useTenant } from "../session";
import { ErrorBox, Loading } from "./State";
import { bytes } from "./Time";

type Summary = Schemas["TranscriptSummary"];
type HostCall = Schemas["HostCall"];
type Verdict = Schemas["Verdict"];

/** What was recorded of an execution, its calls on request, and its export. */
export function TranscriptSection({ id, summary }: { id: string; summary?: Summary | null }) {
  const tenant = useTenant();
  const [calls, setCalls] = useState<HostCall[]>();
  const { busy: loading, error, run } = useAction();
  const path = { tenant, id };
  const exportHref = `/v1/tenants/${encodeURIComponent(tenant)}/executions/${encodeURIComponent(id)}/export`;
  const show = () =>
    run(async () => {
      const exported = await unwrap(api.GET("/v1/tenants/{tenant}/executions/{id}/export", { params: { path } }));
      setCalls(exported.recorded.transcript.calls);
    });
  return (
    <section aria-labelledby="transcript-title">
      <h2 id="transcript-title">Transcript</h2>
      {!summary ? (
        <p className="muted">Not recorded (the tenant's quota turns recording off, or it never ran).</p>
      ) : (
        <>
          <p>
            {summary.calls} host {summary.calls === 1 ? "call" : "calls"} recorded, {bytes(summary.stored_bytes)} stored.{" "}
            {summary.complete ? (
              "It can be replayed: "
            ) : (
              <span className="denied">Over its cap: it cannot be replayed. </span>
            )}
            {summary.complete && (
              <>
                <code>wolfe replay {id}</code>, or{" "}
                <a href={exportHref} download={`${id}.json`}>
                  download it
                </a>{" "}
                for <code>wolfe replay --file</code>.
              </>
            )}
          </p>
          {calls === undefined && (
            <button type="button" onClick={show} disabled={loading}>
              Show the calls
            </button>
          )}
          {loading && <Loading what="the transcript" />}
          {calls && <Calls calls={calls} />}
          <ErrorBox error={error} />
        </>
      )}
    </section>
  );
}

function Calls({ calls }: { calls: HostCall[] }) {
  if (calls.length === 0) return <p className="muted">It made no host call.</p>;
  return (
    <div className="table-wrap">
      <table className="transcript" aria-label="Recorded calls">
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Interface</th>
            <th scope="col">Operation</th>
            <th scope="col">Request</th>
            <th scope="col">Answer</th>
          </tr>
        </thead>
        <tbody>
          {calls.map((c, i) => (
            <tr key={i} data-refused={isRefusal(c.answer)}>
              <td>{i}</td>
              <td>{c.interface}</td>
              <td>{c.operation}</td>
              <td className="wrap">
                <code>{JSON.stringify(c.request)}</code>
              </td>
              <td className="wrap">
                <code>{JSON.stringify(c.answer)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function isRefusal(answer: unknown): boolean {
  const error = (answer as { error?: Record<string, unknown> } | null)?.error;
  return !!error && "denied" in error;
}

/** A candidate version replayed against an environment's recorded executions. */
export function ReplayCandidate({ runbook, versions, deployments }: { runbook: string; versions: string[]; deployments: Record<string, string> }) {
  const tenant = useTenant();
  const canRead = useCan("read_executions");
  const canWrite = useCan("write_runbooks");
  const canRun = useCan("run_runbooks");
  const [version, setVersion] = useState(versions[0] ?? "");
  const [from, setFrom] = useState<Env>([...ENVIRONMENTS].reverse().find((e) => deployments[e]) ?? "prod");
  const [last, setLast] = useState(50);
  const [report, setReport] = useState<Schemas["ReplayRun"]>();
  const { busy, error, run } = useAction();
  if (!canRead || !(canWrite || canRun) || versions.length === 0) return null;
  const replay = () =>
    run(async () => {
      setReport(
        await unwrap(
          api.POST("/v1/tenants/{tenant}/runbooks/{name}/replay", {
            params: { path: { tenant, name: runbook } },
            body: { version, from_environment: from, last },
          }),
        ),
      );
    });
  return (
    <section aria-labelledby="replay-title">
      <h2 id="replay-title">Replay against recorded executions</h2>
      <p className="muted">
        Runs a version on the server with the input and host answers of real executions: nothing is sent, no secret
        is read.
      </p>
      <form
        className="filters"
        aria-label="Replay"
        onSubmit={(e) => {
          e.preventDefault();
          void replay();
        }}
      >
        <label>
          Version{" "}
          <select value={version} onChange={(e) => setVersion(e.target.value)}>
            {versions.map((v) => (
              <option key={v}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          Executions of{" "}
          <select value={from} onChange={(e) => setFrom(e.target.value as Env)}>
            {ENVIRONMENTS.map((e) => (
              <option key={e}>{e}</option>
            ))}
          </select>
        </label>
        <label>
          The newest{" "}
          <input type="number" min={1} max={200} value={last} onChange={(e) => setLast(Number(e.target.value))} />
        </label>
        <button type="submit" disabled={busy || !version}>
          Replay
        </button>
      </form>
      {busy && <Loading what="the replay" />}
      <ErrorBox error={error} />
      {report && <ReplayReport run={report} />}
    </section>
  );
}

function ReplayReport({ run }: { run: Schemas["ReplayRun"] }) {
  const s = run.summary;
  return (
    <>
      <p role="status" aria-label="Replay summary">
        {run.version} against {run.results.length} {run.results.length === 1 ? "execution" : "executions"} of{" "}
        {run.from_environment}: {s.identical} identical,{" "}
        {s.output_differs} output differs, {s.calls_differ} calls differ, {s.status_differs} status differs,{" "}
        {s.not_replayable} not replayable.
      </p>
      {run.results.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Replay results">
            <thead>
              <tr>
                <th scope="col">Execution</th>
                <th scope="col">Recorded with</th>
                <th scope="col">Verdict</th>
                <th scope="col">Where</th>
              </tr>
            </thead>
            <tbody>
              {run.results.map((r) => (
                <tr key={r.execution}>
                  <td>
                    <Link href={`/executions/${encodeURIComponent(r.execution)}`}>
                      <code>{r.execution}</code>
                    </Link>
                  </td>
                  <td>{r.recorded_version ?? "—"}</td>
                  <td>{r.verdict ? verdictName(r.verdict) : "not replayable"}</td>
                  <td className="wrap">{r.verdict ? verdictDetail(r.verdict) : r.not_replayable}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function verdictName(v: Verdict): string {
  return v.verdict.replaceAll("_", " ");
}

function verdictDetail(v: Verdict): string {
  switch (v.verdict) {
    case "identical":
      return "";
    case "calls_differ":
      return `call #${v.index}: recorded ${JSON.stringify(v.recorded ?? null)}, replayed ${JSON.stringify(v.replayed ?? null)}`;
    case "status_differs":
      return `recorded ${v.recorded}, replayed ${v.replayed}`;
    case "output_differs":
      return v.changes.map((c) => c.path).join(", ");
  }
}
