// Sources: where events come from (webhooks, SQS queues, schedules). List,
// create and edit (the spec as JSON: each kind has its own fields), with
// the API's validation error shown beside it.
import { useState } from "react";
import { Link, useLocation, useParams } from "wouter";
import { api, describe, unwrap, type Schemas } from "../api/client";
import { useLoad } from "../hooks";
import { useCan, useTenant } from "../session";
import { EnabledSwitch } from "../ui/EnabledSwitch";
import { Field, parseJson } from "../ui/Field";
import { ErrorBox, Loaded } from "../ui/State";
import { Time } from "../ui/Time";

type Shown = Schemas["ShownSource"];

const TEMPLATES: Record<string, unknown> = {
  webhook: { type: "webhook", auth: { type: "bearer" }, split: "alerts", type_path: "status" },
  sqs: { type: "sqs", queue_url: "https://sqs.us-east-1.amazonaws.com/123456789012/alerts", region: "us-east-1" },
  schedule: { type: "schedule", cron: "*/5 * * * *", timezone: "UTC" },
};

/** The spec a source was put with: the stored source without what the server adds. */
function specOf(source: Shown): Record<string, unknown> {
  const { name: _n, updated_at: _u, metrics: _m, next_ticks: _t, ...spec } = source as Record<string, unknown>;
  return spec;
}
const isEnabled = (source: Shown) => (source as { enabled?: boolean }).enabled !== false;

/** What a source is, in one line for the table. */
function detailOf(source: Shown): string {
  const s = source as Record<string, unknown>;
  if (s.type === "webhook") return `POST /v1/hooks/…/${source.name}`;
  if (s.type === "sqs") return String(s.queue_url ?? "");
  if (s.type === "schedule") return `${s.cron ?? ""} ${s.timezone ?? ""}`;
  return "";
}

export function Sources() {
  const tenant = useTenant();
  const canWrite = useCan("write_rules");
  const state = useLoad(() => unwrap(api.GET("/v1/tenants/{tenant}/sources", { params: { path: { tenant } } })), [tenant]);
  const [error, setError] = useState<unknown>();
  // Enabling or disabling puts the same spec back with `enabled` flipped.
  const toggle = async (source: Shown) => {
    setError(undefined);
    try {
      const body = { ...specOf(source), enabled: !isEnabled(source) } as Schemas["SourceSpec"];
      await unwrap(api.PUT("/v1/tenants/{tenant}/sources/{source}", { params: { path: { tenant, source: source.name } }, body }));
      state.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="sources-title">
      <div className="title-row">
        <h1 id="sources-title">Sources</h1>
        {canWrite && (
          <Link href="/sources/new" className="button primary">
            New source
          </Link>
        )}
      </div>
      <ErrorBox error={error} />
      <Loaded state={state} what="sources">
        {(list) =>
          list.sources.length === 0 ? (
            <p className="empty">No sources yet.</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Source</th>
                    <th scope="col">Type</th>
                    <th scope="col">Where</th>
                    <th scope="col">Enabled</th>
                    <th scope="col">Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {list.sources.map((s) => (
                    <tr key={s.name}>
                      <td>
                        <Link href={`/sources/${encodeURIComponent(s.name)}`}>{s.name}</Link>
                      </td>
                      <td>{String((s as Record<string, unknown>).type)}</td>
                      <td className="wrap">{detailOf(s)}</td>
                      <td>
                        <EnabledSwitch
                          label={`source ${s.name}`}
                          on={isEnabled(s)}
                          onToggle={canWrite ? () => toggle(s) : undefined}
                        />
                      </td>
                      <td>
                        <Time value={s.updated_at} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
    </section>
  );
}

export function SourceEdit() {
  const params = useParams<{ name?: string }>();
  const tenant = useTenant();
  const state = useLoad(
    async () =>
      params.name
        ? unwrap(api.GET("/v1/tenants/{tenant}/sources/{source}", { params: { path: { tenant, source: params.name } } }))
        : null,
    [tenant, params.name],
  );
  return <Loaded state={state} what="the source">{(source) => <SourceForm source={source ?? undefined} />}</Loaded>;
}

function SourceForm({ source }: { source?: Shown }) {
  const tenant = useTenant();
  const canWrite = useCan("write_rules");
  const [, navigate] = useLocation();
  const [name, setName] = useState(source?.name ?? "");
  const initial = source ? specOf(source) : TEMPLATES.webhook;
  const [spec, setSpec] = useState(JSON.stringify(initial, null, 2));
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setSaved(false);
    try {
      const body = parseJson("spec", spec) as Schemas["SourceSpec"];
      await unwrap(api.PUT("/v1/tenants/{tenant}/sources/{source}", { params: { path: { tenant, source: name } }, body }));
      setSaved(true);
      if (!source) navigate(`/sources/${encodeURIComponent(name)}`);
    } catch (err) {
      setError(err);
    }
  };
  const remove = async () => {
    if (!source || !window.confirm(`Delete the source ${source.name}?`)) return;
    try {
      await unwrap(api.DELETE("/v1/tenants/{tenant}/sources/{source}", { params: { path: { tenant, source: source.name } } }));
      navigate("/sources");
    } catch (err) {
      setError(err);
    }
  };
  const s = source as Record<string, unknown> | undefined;
  return (
    <section aria-labelledby="source-title">
      <h1 id="source-title">{source ? `Source ${source.name}` : "New source"}</h1>
      {s?.type === "webhook" && (
        <p>
          Events arrive at <code>POST {window.location.origin}/v1/hooks/{tenant}/{source!.name}</code>
        </p>
      )}
      {Array.isArray(s?.next_ticks) && (
        <p>
          Next ticks:{" "}
          {(s!.next_ticks as string[]).map((t) => (
            <span key={t}>
              <Time value={t} />{" "}
            </span>
          ))}
        </p>
      )}
      <form onSubmit={save} className="form">
        <fieldset disabled={!canWrite}>
          <Field label="Name">
            {(p) => <input {...p} value={name} readOnly={!!source} onChange={(e) => setName(e.target.value)} required />}
          </Field>
          {!source && (
            <div className="field">
              <span>Start from</span>
              <div className="actions">
                {Object.keys(TEMPLATES).map((kind) => (
                  <button type="button" key={kind} onClick={() => setSpec(JSON.stringify(TEMPLATES[kind], null, 2))}>
                    {kind}
                  </button>
                ))}
              </div>
            </div>
          )}
          <Field label="Spec (JSON)" error={error ? describe(error) : undefined}>
            {(p) => <textarea {...p} rows={14} className="code" value={spec} onChange={(e) => setSpec(e.target.value)} />}
          </Field>
          {saved && <p role="status">Saved.</p>}
          {canWrite && (
            <div className="actions">
              <button type="submit" className="primary">
                Save source
              </button>
              {source && (
                <button type="button" className="danger" onClick={remove}>
                  Delete
                </button>
              )}
            </div>
          )}
        </fieldset>
      </form>
    </section>
  );
}
