// Settings: tokens (a new one is shown once), secrets (names only; a value
// can be set, never read), connectors and the tenant's quota.
import { useState } from "react";
import { api, describe, unwrap, type Schemas } from "../api/client";
import { useLoad } from "../hooks";
import { useCan, useTenant } from "../session";
import { Field, parseJson } from "../ui/Field";
import { Json } from "../ui/Json";
import { ErrorBox, Loaded } from "../ui/State";
import { Time } from "../ui/Time";

export function Settings() {
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      {useCan("manage_tokens") && <Tokens />}
      <Secrets />
      <Connectors />
      <Quota />
    </section>
  );
}

function Tokens() {
  const tenant = useTenant();
  const [role, setRole] = useState<Schemas["Role"]>("operator");
  const [created, setCreated] = useState<Schemas["CreatedToken"]>();
  const [error, setError] = useState<unknown>();
  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      setCreated(await unwrap(api.POST("/v1/tenants/{tenant}/tokens", { params: { path: { tenant } }, body: { role } })));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="tokens-title" className="card">
      <h2 id="tokens-title">Tokens</h2>
      <form onSubmit={create} className="filters">
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Schemas["Role"])}>
            {["admin", "author", "operator", "auditor", "sender"].map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Create token</button>
      </form>
      <ErrorBox error={error} />
      {created && (
        <div className="callout" role="status">
          <p>
            A new {created.role} token (id <code>{created.id}</code>). Copy it now: it is shown this once and stored only
            as a hash.
          </p>
          <input aria-label="New token" readOnly value={created.token} className="code" onFocus={(e) => e.target.select()} />
          <button type="button" onClick={() => setCreated(undefined)}>
            Done: hide the token
          </button>
        </div>
      )}
    </section>
  );
}

function Secrets() {
  const tenant = useTenant();
  const canManage = useCan("manage_secrets");
  const state = useLoad(() => unwrap(api.GET("/v1/tenants/{tenant}/secrets", { params: { path: { tenant } } })), [tenant]);
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const [error, setError] = useState<unknown>();
  const put = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await unwrap(api.PUT("/v1/tenants/{tenant}/secrets/{name}", { params: { path: { tenant, name } }, body: { value } }));
      setValue("");
      setName("");
      state.reload();
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (secret: string) => {
    if (!window.confirm(`Delete the secret ${secret}? Runbooks that read it will get an error.`)) return;
    try {
      await unwrap(api.DELETE("/v1/tenants/{tenant}/secrets/{name}", { params: { path: { tenant, name: secret } } }));
      state.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="secrets-title" className="card">
      <h2 id="secrets-title">Secrets</h2>
      <p className="muted">Values are sealed when set and never shown again, here or anywhere.</p>
      <Loaded state={state} what="secrets">
        {(list) =>
          list.secrets.length === 0 ? (
            <p className="empty">No secrets.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Set</th>
                  <th scope="col">Key</th>
                  {canManage && <th scope="col">Delete</th>}
                </tr>
              </thead>
              <tbody>
                {list.secrets.map((s) => (
                  <tr key={s.name}>
                    <td>{s.name}</td>
                    <td>
                      <Time value={s.updated_at} />
                    </td>
                    <td>
                      <code>{s.key_id}</code>
                    </td>
                    {canManage && (
                      <td>
                        <button type="button" className="danger" onClick={() => remove(s.name)}>
                          Delete {s.name}
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
      {canManage && (
        <form onSubmit={put} className="filters" aria-label="Set a secret">
          <label>
            Secret name
            <input value={name} onChange={(e) => setName(e.target.value)} required />
          </label>
          <label>
            Value
            <input type="password" autoComplete="new-password" value={value} onChange={(e) => setValue(e.target.value)} required />
          </label>
          <button type="submit">Set secret</button>
        </form>
      )}
      <ErrorBox error={error} />
    </section>
  );
}

function Connectors() {
  const tenant = useTenant();
  const canManage = useCan("manage_connectors");
  const state = useLoad(() => unwrap(api.GET("/v1/tenants/{tenant}/connectors", { params: { path: { tenant } } })), [tenant]);
  const [name, setName] = useState("");
  const [spec, setSpec] = useState('{\n  "kind": "slack",\n  "webhook_url_secret": "slack-webhook"\n}');
  const [error, setError] = useState<unknown>();
  const put = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const body = parseJson("spec", spec) as Schemas["ConnectorSpec"];
      await unwrap(api.PUT("/v1/tenants/{tenant}/connectors/{name}", { params: { path: { tenant, name } }, body }));
      state.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="connectors-title" className="card">
      <h2 id="connectors-title">Connectors</h2>
      <Loaded state={state} what="connectors">
        {(list) =>
          list.connectors.length === 0 ? (
            <p className="empty">No connectors.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Spec</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {list.connectors.map((c) => (
                  <tr key={c.name}>
                    <td>
                      <button type="button" className="link" disabled={!canManage} onClick={() => {
                        setName(c.name);
                        setSpec(JSON.stringify(c.spec, null, 2));
                      }}>
                        {c.name}
                      </button>
                    </td>
                    <td>
                      <Json value={c.spec} />
                    </td>
                    <td>
                      <Time value={c.updated_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
      {canManage && (
        <form onSubmit={put} className="form" aria-label="Create or replace a connector">
          <Field label="Connector name">{(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} required />}</Field>
          <Field label="Connector spec (JSON)" error={error ? describe(error) : undefined}>
            {(p) => <textarea {...p} className="code" rows={6} value={spec} onChange={(e) => setSpec(e.target.value)} />}
          </Field>
          <button type="submit">Save connector</button>
        </form>
      )}
    </section>
  );
}

function Quota() {
  const tenant = useTenant();
  const state = useLoad(() => unwrap(api.GET("/v1/tenants/{tenant}/quota", { params: { path: { tenant } } })), [tenant]);
  const labels: [keyof Schemas["TenantQuota"], string][] = [
    ["max_concurrent", "Executions at once"],
    ["max_executions_per_minute", "Executions per minute"],
    ["max_memory_mb", "Memory per execution (MiB)"],
    ["max_fuel", "Fuel per execution"],
    ["max_timeout_ms", "Timeout per execution (ms)"],
  ];
  return (
    <section aria-labelledby="quota-title" className="card">
      <h2 id="quota-title">Quota</h2>
      <p className="muted">Set by the server admin (wolfe tenant quota); unset means only the host's limits apply.</p>
      <Loaded state={state} what="the quota">
        {(q) => (
          <dl className="facts">
            {labels.map(([key, label]) => (
              <div key={key} className="fact">
                <dt>{label}</dt>
                <dd>{q[key] ?? <span className="muted">unset</span>}</dd>
              </div>
            ))}
          </dl>
        )}
      </Loaded>
    </section>
  );
}
