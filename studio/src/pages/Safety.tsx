// Safety: why automation is holding back — the tenant's kill switch, paused
// runbooks, silences, open circuits (with a close button) and executions
// awaiting approval (approve or reject).
import { useState } from "react";
import { Link } from "wouter";
import { api, unwrap } from "../api/client";
import { useLoad } from "../hooks";
import { useCan, useTenant } from "../session";
import { Decide } from "../ui/Decide";
import { ErrorBox, Loaded } from "../ui/State";
import { Time } from "../ui/Time";

export function Safety() {
  const tenant = useTenant();
  const canBrake = useCan("manage_safety");
  const canDecide = useCan("decide_approvals");
  const state = useLoad(() => unwrap(api.GET("/v1/tenants/{tenant}/safety", { params: { path: { tenant } } })), [tenant]);
  const [error, setError] = useState<unknown>();
  const act = (call: () => Promise<unknown>) => async () => {
    setError(undefined);
    try {
      await call();
      state.reload();
    } catch (e) {
      setError(e);
    }
  };
  const path = { tenant };
  return (
    <section aria-labelledby="safety-title">
      <h1 id="safety-title">Safety</h1>
      <ErrorBox error={error} />
      <Loaded state={state} what="the safety overview">
        {(s) => (
          <>
            <section aria-labelledby="pause-title" className={`card ${s.paused ? "bad" : ""}`}>
              <h2 id="pause-title">Tenant pause</h2>
              {s.paused ? (
                <p>
                  Paused by <code>{s.paused.by}</code> at <Time value={s.paused.at} />: nothing new runs.
                </p>
              ) : (
                <p>Not paused: rules run their runbooks.</p>
              )}
              {canBrake &&
                (s.paused ? (
                  <button type="button" onClick={act(() => unwrap(api.POST("/v1/tenants/{tenant}/resume", { params: { path } })))}>
                    Resume the tenant
                  </button>
                ) : (
                  <button
                    type="button"
                    className="danger"
                    onClick={act(() => unwrap(api.POST("/v1/tenants/{tenant}/pause", { params: { path } })))}
                  >
                    Pause everything
                  </button>
                ))}
            </section>

            <section aria-labelledby="approvals-title">
              <h2 id="approvals-title">Awaiting approval</h2>
              {s.awaiting_approval.length === 0 ? (
                <p className="muted">Nothing waits for a decision.</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Execution</th>
                      <th scope="col">Runbook</th>
                      <th scope="col">Rule</th>
                      <th scope="col">Key</th>
                      <th scope="col">Deadline</th>
                      {canDecide && <th scope="col">Decide</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {s.awaiting_approval.map((a) => (
                      <tr key={a.id}>
                        <td>
                          <Link href={`/executions/${encodeURIComponent(a.id)}`}>
                            <Time value={a.created_at} />
                          </Link>
                        </td>
                        <td>{a.runbook}</td>
                        <td>{a.rule ?? "—"}</td>
                        <td>{a.key ?? "—"}</td>
                        <td>
                          <Time value={a.approval?.deadline} />
                        </td>
                        {canDecide && (
                          <td>
                            <Decide
                              id={a.id}
                              what={`${a.runbook}${a.rule ? ` for rule ${a.rule}` : ""}${a.key ? `, key ${a.key}` : ""}`}
                              onDone={state.reload}
                            />
                          </td>
                        )}
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>

            <section aria-labelledby="circuits-title">
              <h2 id="circuits-title">Open circuits</h2>
              {s.open_circuits.length === 0 ? (
                <p className="muted">Every circuit is closed.</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Rule</th>
                      <th scope="col">Key</th>
                      <th scope="col">Failures</th>
                      <th scope="col">Opened</th>
                      <th scope="col">Trial at</th>
                      {canBrake && <th scope="col">Close</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {s.open_circuits.map((c) => (
                      <tr key={`${c.rule}/${c.circuit.key}`}>
                        <td>{c.rule}</td>
                        <td>{c.circuit.key}</td>
                        <td>{c.circuit.failures}</td>
                        <td>
                          <Time value={c.circuit.opened_at} />
                        </td>
                        <td>
                          <Time value={c.circuit.half_open_at} />
                        </td>
                        {canBrake && (
                          <td>
                            <button
                              type="button"
                              onClick={act(() =>
                                unwrap(
                                  api.POST("/v1/tenants/{tenant}/rules/{rule}/circuits/close", {
                                    params: { path: { tenant, rule: c.rule } },
                                    body: { key: c.circuit.key },
                                  }),
                                ),
                              )}
                            >
                              Close circuit
                            </button>
                          </td>
                        )}
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>

            <section aria-labelledby="paused-title">
              <h2 id="paused-title">Paused runbooks</h2>
              {Object.keys(s.paused_runbooks).length === 0 ? (
                <p className="muted">No runbook is paused.</p>
              ) : (
                <ul className="plain">
                  {Object.entries(s.paused_runbooks).map(([runbook, pause]) => (
                    <li key={runbook}>
                      <strong>{runbook}</strong> paused by <code>{pause.by}</code> at <Time value={pause.at} />{" "}
                      {canBrake && (
                        <button
                          type="button"
                          onClick={act(() =>
                            unwrap(api.POST("/v1/tenants/{tenant}/runbooks/{name}/resume", { params: { path: { tenant, name: runbook } } })),
                          )}
                        >
                          Resume {runbook}
                        </button>
                      )}
                    </li>
                  ))}
                </ul>
              )}
            </section>

            <section aria-labelledby="silences-title">
              <h2 id="silences-title">Silences</h2>
              {s.silences.length === 0 ? (
                <p className="muted">No silence in force.</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Silence</th>
                      <th scope="col">Matchers</th>
                      <th scope="col">From</th>
                      <th scope="col">Until</th>
                      <th scope="col">Comment</th>
                      {canBrake && <th scope="col">End</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {s.silences.map((silence) => (
                      <tr key={silence.name}>
                        <td>
                          {silence.name} {silence.active && <span className="badge">active</span>}
                        </td>
                        <td>
                          {silence.matchers.map((m, i) => (
                            <code key={i}>
                              {m.path} {m.op} {JSON.stringify(m.value)}{" "}
                            </code>
                          ))}
                        </td>
                        <td>
                          <Time value={silence.starts_at} />
                        </td>
                        <td>
                          <Time value={silence.ends_at} />
                        </td>
                        <td>{silence.comment}</td>
                        {canBrake && (
                          <td>
                            <button
                              type="button"
                              onClick={act(() =>
                                unwrap(api.DELETE("/v1/tenants/{tenant}/silences/{name}", { params: { path: { tenant, name: silence.name } } })),
                              )}
                            >
                              End silence
                            </button>
                          </td>
                        )}
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>

            <section aria-labelledby="policies-title">
              <h2 id="policies-title">Rules with a policy</h2>
              {s.rules.length === 0 ? (
                <p className="muted">No rule has a safety policy.</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Rule</th>
                      <th scope="col">Runbook</th>
                      <th scope="col">Keys</th>
                      <th scope="col">Budget</th>
                    </tr>
                  </thead>
                  <tbody>
                    {s.rules.map((r) => (
                      <tr key={r.rule}>
                        <td>
                          <Link href={`/rules/${encodeURIComponent(r.rule)}`}>{r.rule}</Link>
                        </td>
                        <td>{r.runbook}</td>
                        <td>{r.keys.length}</td>
                        <td>{r.budget ? `${r.budget.keys_used}/${r.budget.max_keys} keys per ${r.budget.per_secs} s` : "—"}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          </>
        )}
      </Loaded>
    </section>
  );
}
