// Rules: which events run which runbook. List, enable and disable, edit
// with the API's validation errors beside the field, and test one against a
// sample event to see which check matched and the input it renders.
import { useEffect, useState } from "react";
import { Link, useLocation, useParams } from "wouter";
import { ApiError, api, describe, unwrap, type Schemas } from "../api/client";
import { useLoad } from "../hooks";
import { useCan, useTenant } from "../session";
import { EnabledSwitch } from "../ui/EnabledSwitch";
import { Field, fieldOf, parseJson } from "../ui/Field";
import { Json } from "../ui/Json";
import { ErrorBox, Loaded } from "../ui/State";
import { Time } from "../ui/Time";
import { usePage } from "../ui/Pager";

type Rule = Schemas["Rule"];
type RuleSpec = Schemas["RuleSpec"];

export function specOf(rule: Rule): RuleSpec {
  const { name: _name, updated_at: _updated, ...spec } = rule;
  return spec;
}

export function Rules() {
  const tenant = useTenant();
  const canWrite = useCan("write_rules");
  const state = useLoad(() => unwrap(api.GET("/v1/tenants/{tenant}/rules", { params: { path: { tenant } } })), [tenant]);
  const [error, setError] = useState<unknown>();
  const toggle = async (rule: Rule) => {
    setError(undefined);
    try {
      await unwrap(
        api.PUT("/v1/tenants/{tenant}/rules/{rule}", {
          params: { path: { tenant, rule: rule.name } },
          body: { ...specOf(rule), enabled: !(rule.enabled ?? true) },
        }),
      );
      state.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="rules-title">
      <div className="title-row">
        <h1 id="rules-title">Rules</h1>
        {canWrite && (
          <Link href="/rules/new" className="button primary">
            New rule
          </Link>
        )}
      </div>
      <ErrorBox error={error} />
      <Loaded state={state} what="rules">
        {(list) => <RuleTable rules={list.rules} canWrite={canWrite} onToggle={toggle} />}
      </Loaded>
    </section>
  );
}

function RuleTable({ rules, canWrite, onToggle }: { rules: Rule[]; canWrite: boolean; onToggle: (r: Rule) => void }) {
  const { items, pager } = usePage(rules);
  if (rules.length === 0) return <p className="empty">No rules yet: events are stored but run nothing.</p>;
  return (
    <>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Rule</th>
              <th scope="col">Source</th>
              <th scope="col">Type</th>
              <th scope="col">Runbook</th>
              <th scope="col">Env</th>
              <th scope="col">Enabled</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.name}>
                <td>
                  <Link href={`/rules/${encodeURIComponent(r.name)}`}>{r.name}</Link>
                </td>
                <td>{r.source ?? <span className="muted">any</span>}</td>
                <td>{r.type ?? <span className="muted">any</span>}</td>
                <td>{r.runbook}</td>
                <td>{r.environment}</td>
                <td>
                  <EnabledSwitch
                    label={`rule ${r.name}`}
                    on={r.enabled ?? true}
                    onToggle={canWrite ? () => onToggle(r) : undefined}
                  />
                </td>
                <td>
                  <Time value={r.updated_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {pager}
    </>
  );
}

const FIELDS = ["name", "runbook", "environment", "source", "type", "criteria", "params", "policy", "all", "within_secs"];
const text = (v: unknown) => (v === undefined || v === null ? "" : JSON.stringify(v, null, 2));

export function RuleEdit() {
  const params = useParams<{ name?: string }>();
  const tenant = useTenant();
  const isNew = !params.name;
  const state = useLoad(
    async () =>
      isNew
        ? undefined
        : unwrap(api.GET("/v1/tenants/{tenant}/rules/{rule}", { params: { path: { tenant, rule: params.name! } } })),
    [tenant, params.name],
  );
  if (isNew) return <RuleForm />;
  return (
    <Loaded state={{ ...state, data: state.data ?? (state.loading ? undefined : null) }} what="the rule">
      {(rule) => <RuleForm rule={rule ?? undefined} />}
    </Loaded>
  );
}

function RuleForm({ rule }: { rule?: Rule }) {
  const tenant = useTenant();
  const canWrite = useCan("write_rules");
  const [, navigate] = useLocation();
  const [name, setName] = useState(rule?.name ?? "");
  const [runbook, setRunbook] = useState(rule?.runbook ?? "");
  const [environment, setEnvironment] = useState<Schemas["Environment"]>(rule?.environment ?? "prod");
  const [source, setSource] = useState(rule?.source ?? "");
  const [type, setType] = useState(rule?.type ?? "");
  const [enabled, setEnabled] = useState(rule?.enabled ?? true);
  const [criteria, setCriteria] = useState(text(rule?.criteria));
  const [paramsText, setParams] = useState(text(rule?.params));
  const [policy, setPolicy] = useState(text(rule?.policy));
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const errorFor = (field: string) => (fieldOf(error, FIELDS) === field ? describe(error) : undefined);

  const spec = (): RuleSpec => ({
    ...(rule ? specOf(rule) : {}),
    runbook,
    environment,
    source: source || undefined,
    type: type || undefined,
    enabled,
    criteria: parseJson("criteria", criteria) as RuleSpec["criteria"],
    params: parseJson("params", paramsText),
    policy: parseJson("policy", policy) as RuleSpec["policy"],
  });
  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setSaved(false);
    try {
      if (!name) throw new ApiError(400, "invalid_request", "name: a rule needs a name");
      await unwrap(api.PUT("/v1/tenants/{tenant}/rules/{rule}", { params: { path: { tenant, rule: name } }, body: spec() }));
      setSaved(true);
      if (!rule) navigate(`/rules/${encodeURIComponent(name)}`);
    } catch (err) {
      setError(err);
    }
  };
  const remove = async () => {
    if (!rule || !window.confirm(`Delete the rule ${rule.name}? Its events will run nothing.`)) return;
    try {
      await unwrap(api.DELETE("/v1/tenants/{tenant}/rules/{rule}", { params: { path: { tenant, rule: rule.name } } }));
      navigate("/rules");
    } catch (err) {
      setError(err);
    }
  };
  const unplaced = error && !fieldOf(error, FIELDS);
  return (
    <section aria-labelledby="rule-title">
      <h1 id="rule-title">{rule ? `Rule ${rule.name}` : "New rule"}</h1>
      <div className="two">
        <form onSubmit={save} className="form">
          <fieldset disabled={!canWrite}>
            <Field label="Name" error={errorFor("name")}>
              {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} readOnly={!!rule} required />}
            </Field>
            <Field label="Runbook" error={errorFor("runbook")}>
              {(p) => <input {...p} value={runbook} onChange={(e) => setRunbook(e.target.value)} required />}
            </Field>
            <Field label="Environment" error={errorFor("environment")}>
              {(p) => (
                <select {...p} value={environment} onChange={(e) => setEnvironment(e.target.value as Schemas["Environment"])}>
                  <option>dev</option>
                  <option>test</option>
                  <option>prod</option>
                </select>
              )}
            </Field>
            <Field label="Source" error={errorFor("source")} hint="A source name or a * glob; empty matches every source.">
              {(p) => <input {...p} value={source} onChange={(e) => setSource(e.target.value)} />}
            </Field>
            <Field label="Event type" error={errorFor("type")} hint="A type or a * glob (alert.*); empty matches every type.">
              {(p) => <input {...p} value={type} onChange={(e) => setType(e.target.value)} />}
            </Field>
            <div className="field">
              <label>
                <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
              </label>
            </div>
            <Field label="Criteria (JSON)" error={errorFor("criteria")} hint='[{"path": "data.labels.severity", "op": "eq", "value": "critical"}]'>
              {(p) => <textarea {...p} rows={6} className="code" value={criteria} onChange={(e) => setCriteria(e.target.value)} />}
            </Field>
            <Field label="Params (JSON templates)" error={errorFor("params")} hint="Empty passes the event's data as the input.">
              {(p) => <textarea {...p} rows={5} className="code" value={paramsText} onChange={(e) => setParams(e.target.value)} />}
            </Field>
            <Field label="Policy (JSON)" error={errorFor("policy")} hint="Safety limits: rate, once_within_secs, circuit, approval, …">
              {(p) => <textarea {...p} rows={5} className="code" value={policy} onChange={(e) => setPolicy(e.target.value)} />}
            </Field>
            {unplaced ? <ErrorBox error={error} /> : null}
            {saved && <p role="status">Saved.</p>}
            {canWrite && (
              <div className="actions">
                <button type="submit" className="primary">
                  Save rule
                </button>
                {rule && (
                  <button type="button" className="danger" onClick={remove}>
                    Delete
                  </button>
                )}
              </div>
            )}
          </fieldset>
        </form>
        {name && <RuleTester name={name} spec={spec} source={source} type={type} />}
      </div>
    </section>
  );
}

function RuleTester({ name, spec, source, type }: { name: string; spec: () => RuleSpec; source: string; type: string }) {
  const tenant = useTenant();
  // A sample shaped like the rule's own events; "Use the latest event"
  // replaces it with a real one.
  const [event, setEvent] = useState(() =>
    JSON.stringify({ ...(source && !source.includes("*") ? { source } : {}), type: type && !type.includes("*") ? type : "alert", data: {} }, null, 2),
  );
  const [result, setResult] = useState<Schemas["RuleTestResult"]>();
  const [error, setError] = useState<unknown>();
  useEffect(() => setResult(undefined), [name]);
  // The event of this rule's newest execution, as the rule saw it.
  const loadLatest = async () => {
    setError(undefined);
    try {
      const page = await unwrap(
        api.GET("/v1/tenants/{tenant}/executions", { params: { path: { tenant }, query: { rule: name, limit: 1 } } }),
      );
      const id = page.executions[0]?.event;
      if (!id) throw new ApiError(404, "not_found", `rule ${name} has no execution with an event yet`);
      const { event: latest } = await unwrap(api.GET("/v1/tenants/{tenant}/events/{id}", { params: { path: { tenant, id } } }));
      setEvent(JSON.stringify({ source: latest.source, type: latest.type, data: latest.data, metadata: latest.metadata }, null, 2));
    } catch (err) {
      setError(err);
    }
  };
  const test = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const sample = parseJson("event", event) as Schemas["SampleEvent"];
      setResult(
        await unwrap(
          api.POST("/v1/tenants/{tenant}/rules/{rule}/test", {
            params: { path: { tenant, rule: name } },
            body: { event: sample ?? {}, rule: spec() },
          }),
        ) as Schemas["RuleTestResult"],
      );
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="test-title">
      <h2 id="test-title">Test against a sample event</h2>
      <form onSubmit={test} className="form">
        <Field label="Sample event (JSON)">
          {(p) => <textarea {...p} rows={8} className="code" value={event} onChange={(e) => setEvent(e.target.value)} />}
        </Field>
        <div className="actions">
          <button type="submit">Test</button>
          <button type="button" onClick={loadLatest}>
            Use the latest event
          </button>
        </div>
      </form>
      <ErrorBox error={error} />
      {result && (
        <div className="test-result" aria-live="polite">
          <p className={result.match.matched ? "good" : "bad"}>
            {result.match.matched ? "Matches." : "Does not match."}
          </p>
          {result.match.failed && (
            <p>
              Failed at <code>{result.match.failed.check}</code>
              {result.match.failed.path && (
                <>
                  {" "}
                  (<code>{result.match.failed.path}</code>)
                </>
              )}
              : expected <code>{JSON.stringify(result.match.failed.expected)}</code>, found{" "}
              <code>{JSON.stringify(result.match.failed.found)}</code>
            </p>
          )}
          {(result.match.conditions_met ?? []).length > 0 && <p>Conditions met: {result.match.conditions_met!.join(", ")}</p>}
          {result.input !== undefined ? (
            <>
              <h3>Rendered input</h3>
              <Json value={result.input} label="Rendered input" />
            </>
          ) : null}
          {result.decision && (
            <p>
              The policy would make it <strong>{result.decision.status}</strong>
              {result.decision.suppressed && `: ${result.decision.suppressed.detail}`}
            </p>
          )}
        </div>
      )}
    </section>
  );
}
