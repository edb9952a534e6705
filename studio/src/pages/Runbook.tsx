// One runbook: its versions, what each may reach, the difference between
// any two versions or environments, and deploy and promote, each asking
// first with the capability diff in front of the person who acts; and a
// version replayed against an environment's recorded executions.
import { useId, useState } from "react";
import { Link, useParams } from "wouter";
import { api, unwrap, type Schemas } from "../api/client";
import { ENVIRONMENTS, type Env } from "../environments";
import { useLoad } from "../hooks";
import { useCan, useTenant } from "../session";
import { Confirm } from "../ui/Confirm";
import { ErrorBox, Loaded, Loading } from "../ui/State";
import { ReplayCandidate } from "../ui/Replay";
import { SourceDiff } from "../ui/SourceDiff";
import { Time, bytes } from "../ui/Time";

type Diff = Schemas["CapabilityDiff"];
type View = Schemas["CapabilityView"];

export function RunbookPage() {
  const { name } = useParams<{ name: string }>();
  const tenant = useTenant();
  const state = useLoad(async () => {
    const [detail, report] = await Promise.all([
      unwrap(api.GET("/v1/tenants/{tenant}/runbooks/{name}", { params: { path: { tenant, name } } })),
      unwrap(api.GET("/v1/tenants/{tenant}/report", { params: { path: { tenant } } })),
    ]);
    const capabilities = report.runbooks.find((r) => r.name === name)?.versions ?? [];
    return { detail, capabilities };
  }, [tenant, name]);
  return (
    <Loaded state={state} what="the runbook">
      {({ detail, capabilities }) => (
        <RunbookView detail={detail} capabilities={capabilities} onChange={state.reload} />
      )}
    </Loaded>
  );
}

function RunbookView({
  detail,
  capabilities,
  onChange,
}: {
  detail: Schemas["RunbookDetail"];
  capabilities: View[];
  onChange: () => void;
}) {
  const canWrite = useCan("write_runbooks");
  // Newest first by upload time: versions sort as text (0.10.0 < 0.9.0).
  const versions = [...detail.versions].sort((a, b) => b.uploaded_at.localeCompare(a.uploaded_at));
  const [selected, setSelected] = useState(versions[0]?.version ?? "");
  const view = capabilities.find((c) => c.version === selected);
  return (
    <article aria-labelledby="runbook-title">
      <div className="title-row">
        <h1 id="runbook-title">{detail.name}</h1>
        {canWrite && (
          <Link href={`/runbooks/${encodeURIComponent(detail.name)}/edit`} className="button">
            Edit in Studio
          </Link>
        )}
      </div>
      <section aria-label="Environments" className="environments">
        {ENVIRONMENTS.map((env) => (
          <EnvironmentCard key={env} env={env} detail={detail} onChange={onChange} />
        ))}
      </section>
      <div className="two wide-left">
        <section>
          <h2>Versions</h2>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Uploaded</th>
                  <th scope="col">Size</th>
                  <th scope="col">Deployed</th>
                  {canWrite && <th scope="col">Deploy</th>}
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr key={v.version} className={v.version === selected ? "selected" : ""}>
                    <td>
                      <button type="button" className="link" onClick={() => setSelected(v.version)} aria-pressed={v.version === selected}>
                        {v.version}
                      </button>
                    </td>
                    <td>
                      <Time value={v.uploaded_at} />
                    </td>
                    <td>{bytes(v.size)}</td>
                    <td>
                      {ENVIRONMENTS.filter((e) => detail.deployments[e] === v.version).join(", ") || (
                        <span className="muted">—</span>
                      )}
                    </td>
                    {canWrite && (
                      <td>
                        <DeployButton runbook={detail.name} version={v.version} current={detail.deployments.dev} onDone={onChange} />
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
        <section aria-label="Capabilities">
          <h2>What {selected} may reach</h2>
          {view ? <CapabilityReport view={view} /> : <p className="muted">Select a version.</p>}
        </section>
      </div>
      <CompareVersions
        runbook={detail.name}
        choices={[...ENVIRONMENTS.filter((e) => detail.deployments[e]), ...versions.map((v) => v.version)]}
        deployments={detail.deployments}
      />
      <ReplayCandidate runbook={detail.name} versions={versions.map((v) => v.version)} deployments={detail.deployments} />
    </article>
  );
}

function EnvironmentCard({ env, detail, onChange }: { env: Env; detail: Schemas["RunbookDetail"]; onChange: () => void }) {
  const canWrite = useCan("write_runbooks");
  const version = detail.deployments[env];
  const previous = ENVIRONMENTS[ENVIRONMENTS.indexOf(env) - 1];
  return (
    <div className="card">
      <h3>{env}</h3>
      <p className="big">{version ?? <span className="muted">nothing deployed</span>}</p>
      {canWrite && previous && detail.deployments[previous] && detail.deployments[previous] !== version && (
        <PromoteButton runbook={detail.name} from={previous} to={env} targetRuns={!!version} onDone={onChange} />
      )}
    </div>
  );
}

export function CapabilityReport({ view }: { view: View }) {
  const list = (items: string[], none: string) =>
    items.length ? (
      <ul className="plain">
        {items.map((i) => (
          <li key={i}>
            <code>{i}</code>
          </li>
        ))}
      </ul>
    ) : (
      <span className="muted">{none}</span>
    );
  return (
    <dl className="facts">
      <dt>Language</dt>
      <dd>{view.language}</dd>
      <dt>HTTP</dt>
      <dd>{list(view.http, "no URLs")}</dd>
      <dt>Secrets</dt>
      <dd>{list(view.secrets, "no secrets")}</dd>
      <dt>Key-value store</dt>
      <dd>{view.kv ? "yes" : "no"}</dd>
      <dt>Connectors</dt>
      <dd>{list(view.connectors, "no connectors")}</dd>
      <dt>Imports</dt>
      <dd>
        <details>
          <summary>{view.imports.length} interfaces</summary>
          {list(view.imports, "none")}
        </details>
      </dd>
      <dt>Limits</dt>
      <dd>
        {view.effective_limits.memory_mb} MiB, {view.effective_limits.fuel.toLocaleString()} fuel,{" "}
        {view.effective_limits.timeout_ms} ms
        {(view.effective_limits.clamped ?? []).length > 0 && (
          <span className="muted"> (lowered by the host: {view.effective_limits.clamped!.join(", ")})</span>
        )}
      </dd>
      <dt>sha256</dt>
      <dd>
        <code className="wrap">{view.sha256}</code>
      </dd>
    </dl>
  );
}

/** The capability diff as lists of what is added and removed. */
export function DiffView({ diff }: { diff: Diff }) {
  if (diff.unchanged) return <p>No change in what it may reach.</p>;
  const rows: [string, Schemas["Change"]][] = [
    ["HTTP", diff.http],
    ["Secrets", diff.secrets],
    ["Connectors", diff.connectors],
    ["Imports", diff.imports],
  ];
  return (
    <div className="diff">
      {diff.widens_access && (
        <p className="callout bad" role="alert">
          {diff.to} may reach more than {diff.from}.
        </p>
      )}
      <ul className="plain">
        {rows.flatMap(([label, change]) => [
          ...change.added.map((a) => (
            <li key={`${label}+${a}`} className="added">
              + {label}: <code>{a}</code>
            </li>
          )),
          ...change.removed.map((r) => (
            <li key={`${label}-${r}`} className="removed">
              − {label}: <code>{r}</code>
            </li>
          )),
        ])}
        {diff.kv && (
          <li className={diff.kv[1] ? "added" : "removed"}>
            {diff.kv[1] ? "+" : "−"} Key-value store
          </li>
        )}
        {diff.limits.map((l) => (
          <li key={l}>Limit {l}</li>
        ))}
      </ul>
    </div>
  );
}

function useDiff(runbook: string) {
  const tenant = useTenant();
  return (from: string, to: string) =>
    unwrap(
      api.GET("/v1/tenants/{tenant}/runbooks/{name}/diff", {
        params: { path: { tenant, name: runbook }, query: { from, to } },
      }),
    );
}

function CompareVersions({
  runbook,
  choices,
  deployments,
}: {
  runbook: string;
  choices: string[];
  deployments: Record<string, string>;
}) {
  const diffOf = useDiff(runbook);
  const id = useId();
  const [from, setFrom] = useState(choices[0] ?? "");
  const [to, setTo] = useState(choices.at(-1) ?? "");
  const [diff, setDiff] = useState<Diff>();
  // An environment stands for the version deployed there.
  const version = (choice: string) => deployments[choice] ?? choice;
  const [error, setError] = useState<unknown>();
  const compare = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setDiff(undefined);
    try {
      setDiff((await diffOf(from, to)) as Diff);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="compare-title">
      <h2 id="compare-title">Compare</h2>
      <form className="filters" onSubmit={compare}>
        <span className="labelled">
          <label htmlFor={`${id}-from`}>From</label>
          <select id={`${id}-from`} value={from} onChange={(e) => setFrom(e.target.value)}>
            {choices.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </span>
        <span className="labelled">
          <label htmlFor={`${id}-to`}>To</label>
          <select id={`${id}-to`} value={to} onChange={(e) => setTo(e.target.value)}>
            {choices.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </span>
        <button type="submit">Show the difference</button>
      </form>
      <ErrorBox error={error} />
      {diff && (
        <>
          <h3>What it may reach</h3>
          <DiffView diff={diff} />
          <h3>Source</h3>
          <SourceDiff runbook={runbook} from={version(from)} to={version(to)} />
        </>
      )}
    </section>
  );
}

/** Asks with the diff against what runs now, then acts. */
function ConfirmedAction({
  label,
  title,
  from,
  to,
  runbook,
  act,
  onDone,
}: {
  label: string;
  title: string;
  from: string | undefined;
  to: string;
  runbook: string;
  act: () => Promise<unknown>;
  onDone: () => void;
}) {
  const diffOf = useDiff(runbook);
  const [open, setOpen] = useState(false);
  const [diff, setDiff] = useState<Diff | null>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const ask = async () => {
    setError(undefined);
    setDiff(undefined);
    setOpen(true);
    try {
      setDiff(from ? ((await diffOf(from, to)) as Diff) : null);
    } catch (e) {
      setError(e);
    }
  };
  const confirm = async () => {
    setBusy(true);
    try {
      await act();
      setOpen(false);
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" onClick={ask}>
        {label}
      </button>
      <Confirm
        title={title}
        open={open}
        confirmLabel={label}
        // Nothing is deployed before its diff has been shown.
        confirmDisabled={busy || diff === undefined}
        onConfirm={confirm}
        onCancel={() => setOpen(false)}
      >
        {diff === undefined && !error && <Loading what="the capability diff" />}
        {diff === null && <p>Nothing runs there now: this version's whole report applies.</p>}
        {diff && <DiffView diff={diff} />}
        <ErrorBox error={error} />
      </Confirm>
    </>
  );
}

function DeployButton({ runbook, version, current, onDone }: { runbook: string; version: string; current?: string; onDone: () => void }) {
  const tenant = useTenant();
  if (current === version) return <span className="muted">in dev</span>;
  return (
    <ConfirmedAction
      label="Deploy to dev"
      title={`Deploy ${runbook} ${version} to dev?`}
      from={current ? "dev" : undefined}
      to={version}
      runbook={runbook}
      onDone={onDone}
      act={() =>
        unwrap(
          api.PUT("/v1/tenants/{tenant}/runbooks/{name}/environments/{env}", {
            params: { path: { tenant, name: runbook, env: "dev" } },
            body: { version },
          }),
        )
      }
    />
  );
}

function PromoteButton({ runbook, from, to, targetRuns, onDone }: { runbook: string; from: Env; to: Env; targetRuns: boolean; onDone: () => void }) {
  const tenant = useTenant();
  return (
    <ConfirmedAction
      label={`Promote from ${from}`}
      title={`Promote ${runbook} from ${from} to ${to}?`}
      from={targetRuns ? to : undefined}
      to={from}
      runbook={runbook}
      onDone={onDone}
      act={() =>
        unwrap(
          api.POST("/v1/tenants/{tenant}/runbooks/{name}/promote", {
            params: { path: { tenant, name: runbook } },
            body: { from, to },
          }),
        )
      }
    />
  );
}
