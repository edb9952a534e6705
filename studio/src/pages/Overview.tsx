// Overview: the picture an SRE lead looks at on Monday — executions by
// status over the last 24 hours or 7 days, what was held back and why, the
// slowest and the most failing runbooks, events per source, and how long
// an event waits before its execution starts.
import { Suspense, lazy, useMemo } from "react";
import { Link } from "wouter";
import { api, unwrap, type Schemas } from "../api/client";
import { useLoad, useSearchParam } from "../hooks";
import { useTenant } from "../session";
import { Loaded, Loading } from "../ui/State";
import { duration } from "../ui/Time";

const BarChart = lazy(() => import("../charts/BarChart"));

type Stats = Schemas["TenantStats"];
type Window = Schemas["StatsWindow"];

// One colour per status, the same as the badges' meaning: green done,
// red failed, amber waiting, grey held back.
const STATUS_COLOURS: [string, string][] = [
  ["succeeded", "#2e8b57"],
  ["failed", "#c0392b"],
  ["timed_out", "#e67e22"],
  ["out_of_fuel", "#d35400"],
  ["out_of_memory", "#8e44ad"],
  ["suppressed", "#95a5a6"],
  ["cancelled", "#7f8c8d"],
  ["awaiting_approval", "#f1c40f"],
  ["queued", "#3498db"],
  ["running", "#1abc9c"],
];

const hourFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "2-digit" });

export function Overview() {
  const tenant = useTenant();
  const [chosen, setWindow] = useSearchParam("window");
  const window: Window = chosen === "7d" ? "7d" : "24h";
  const state = useLoad(
    () => unwrap(api.GET("/v1/tenants/{tenant}/stats", { params: { path: { tenant }, query: { window } } })),
    [tenant, window],
  );
  return (
    <section aria-labelledby="overview-title">
      <div className="title-row">
        <h1 id="overview-title">Overview</h1>
        <div className="actions" role="group" aria-label="Window">
          {(["24h", "7d"] as Window[]).map((w) => (
            <button key={w} type="button" aria-pressed={window === w} className={window === w ? "primary" : ""} onClick={() => setWindow(w)}>
              {w === "24h" ? "Last 24 hours" : "Last 7 days"}
            </button>
          ))}
        </div>
      </div>
      <Loaded state={state} what="statistics">
        {(stats) => <Dashboard stats={stats} window={window} />}
      </Loaded>
    </section>
  );
}

function Dashboard({ stats, window }: { stats: Stats; window: Window }) {
  const total = Object.values(stats.totals).reduce((a, b) => a + b, 0);
  const failed = ["failed", "timed_out", "out_of_fuel", "out_of_memory"].reduce((a, s) => a + (stats.totals[s] ?? 0), 0);
  const suppressed = stats.totals.suppressed ?? 0;
  const events = Object.values(stats.events_by_source).reduce((a, b) => a + b, 0);
  const statusSeries = useMemo(() => {
    const present = STATUS_COLOURS.filter(([s]) => stats.buckets.some((b) => (b.counts[s] ?? 0) > 0));
    return present.map(([status, color]) => ({
      label: status.replaceAll("_", " "),
      color,
      values: stats.buckets.map((b) => b.counts[status] ?? 0),
    }));
  }, [stats]);
  const bucketLabels = useMemo(
    () => stats.buckets.map((b) => (window === "24h" ? hourFormat : dayFormat).format(new Date(b.start))),
    [stats, window],
  );
  const suppressions = Object.entries(stats.suppressions).sort((a, b) => b[1] - a[1]);
  const sources = Object.entries(stats.events_by_source).sort((a, b) => b[1] - a[1]);
  return (
    <>
      <div className="stats">
        <Stat label="Executions" value={total.toLocaleString()} href={`/executions?range=${window}`} />
        <Stat label="Failed (any way)" value={failed.toLocaleString()} tone={failed ? "bad" : undefined} href={`/executions?status=failed&range=${window}`} />
        <Stat label="Held back" value={suppressed.toLocaleString()} href={`/executions?status=suppressed&range=${window}`} />
        <Stat label="Events" value={events.toLocaleString()} />
        <Stat
          label="Event to start (p95)"
          value={stats.event_to_start ? duration(stats.event_to_start.p95_ms) : "—"}
          detail={stats.event_to_start ? `p50 ${duration(stats.event_to_start.p50_ms)}, max ${duration(stats.event_to_start.max_ms)}` : "no execution started"}
        />
      </div>
      <Suspense fallback={<Loading what="the charts" />}>
        <div className="charts">
          <BarChart title="Executions by status" labels={bucketLabels} series={statusSeries} />
          {suppressions.length > 0 ? (
            <BarChart
              title="Held back, by reason"
              labels={suppressions.map(([r]) => r.replaceAll("_", " "))}
              series={[{ label: "executions", color: "#95a5a6", values: suppressions.map(([, n]) => n) }]}
              horizontal
            />
          ) : (
            <Empty title="Held back, by reason" text="Nothing was held back." />
          )}
          {sources.length > 0 ? (
            <BarChart
              title="Events per source"
              labels={sources.map(([s]) => s)}
              series={[{ label: "events", color: "#1d5fa8", values: sources.map(([, n]) => n) }]}
              horizontal
            />
          ) : (
            <Empty title="Events per source" text="No event arrived." />
          )}
          {stats.slowest.length > 0 ? (
            <BarChart
              title="Slowest runbooks (p95)"
              labels={stats.slowest.map((r) => r.runbook)}
              series={[
                { label: "p50", color: "#7fb3d5", values: stats.slowest.map((r) => r.p50_ms) },
                { label: "p95 − p50", color: "#1f618d", values: stats.slowest.map((r) => r.p95_ms - r.p50_ms) },
              ]}
              horizontal
              unit=" ms"
            />
          ) : (
            <Empty title="Slowest runbooks" text="Nothing ran." />
          )}
        </div>
      </Suspense>
      <section aria-labelledby="failing-title" className="card">
        <h2 id="failing-title">Most failing runbooks</h2>
        {stats.failing.length === 0 ? (
          <p className="muted">No runbook failed.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Runbook</th>
                <th scope="col">Failed</th>
                <th scope="col">Finished</th>
                <th scope="col">Failure rate</th>
              </tr>
            </thead>
            <tbody>
              {stats.failing.map((r) => (
                <tr key={r.runbook}>
                  <td>
                    <Link href={`/executions?runbook=${encodeURIComponent(r.runbook)}&status=failed&range=${window}`}>{r.runbook}</Link>
                  </td>
                  <td>{r.failed}</td>
                  <td>{r.finished}</td>
                  <td>{(r.rate * 100).toFixed(1)} %</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function Stat({ label, value, detail, tone, href }: { label: string; value: string; detail?: string; tone?: string; href?: string }) {
  const body = (
    <>
      <span className="muted">{label}</span>
      <span className={`big ${tone ?? ""}`}>{value}</span>
      {detail && <small className="muted">{detail}</small>}
    </>
  );
  return <div className="card stat">{href ? <Link href={href}>{body}</Link> : body}</div>;
}

function Empty({ title, text }: { title: string; text: string }) {
  return (
    <figure className="card">
      <figcaption>
        <h3>{title}</h3>
      </figcaption>
      <p className="muted">{text}</p>
    </figure>
  );
}
