// The audit log: who did what to what, with the hash chain verified.
import { api, unwrap } from "../api/client";
import { useLoad, useSearchParam } from "../hooks";
import { useCan, useTenant } from "../session";
import { Json } from "../ui/Json";
import { Loaded } from "../ui/State";
import { Time } from "../ui/Time";

const PAGE = 100;

export function Audit() {
  if (!useCan("read_audit")) {
    return (
      <section aria-labelledby="audit-title">
        <h1 id="audit-title">Audit</h1>
        <p>The audit log is for the admin and auditor roles; yours cannot read it.</p>
      </section>
    );
  }
  return <AuditLog />;
}

function AuditLog() {
  const tenant = useTenant();
  const [after, setAfter] = useSearchParam("after");
  const verification = useLoad(
    () => unwrap(api.GET("/v1/tenants/{tenant}/audit/verify", { params: { path: { tenant } } })),
    [tenant],
  );
  const page = useLoad(
    () =>
      unwrap(
        api.GET("/v1/tenants/{tenant}/audit", {
          params: { path: { tenant }, query: { limit: PAGE, after: after ? Number(after) : undefined } },
        }),
      ),
    [tenant, after],
  );
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit</h1>
      <Loaded state={verification} what="the chain's verification">
        {(v) => (
          <p className={`callout ${v.ok ? "good" : "bad"}`} role="status">
            {v.ok
              ? `The hash chain holds: ${v.entries} entries verified.`
              : `The chain is broken at entry ${v.broken_at}: ${v.reason ?? "an entry does not fit"}.`}{" "}
            <span className="muted">
              Head <code>{v.head.slice(0, 16)}…</code>
            </span>
          </p>
        )}
      </Loaded>
      <Loaded state={page} what="the audit log">
        {(p) => (
          <>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">When</th>
                    <th scope="col">Who</th>
                    <th scope="col">Action</th>
                    <th scope="col">Target</th>
                    <th scope="col">Change</th>
                  </tr>
                </thead>
                <tbody>
                  {p.entries.map((e) => (
                    <tr key={e.seq}>
                      <td>{e.seq}</td>
                      <td>
                        <Time value={e.at} />
                      </td>
                      <td>
                        {e.actor.role} <code>{e.actor.token_id}</code>
                      </td>
                      <td>{e.action}</td>
                      <td className="wrap">{e.target}</td>
                      <td>
                        <details>
                          <summary>Before and after</summary>
                          <Json value={{ before: e.before ?? null, after: e.after ?? null }} />
                        </details>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <nav className="pager" aria-label="Pages">
              {after && (
                <button type="button" onClick={() => setAfter("")}>
                  From the start
                </button>
              )}
              {p.next_after != null && (
                <button type="button" onClick={() => setAfter(String(p.next_after))}>
                  Next entries
                </button>
              )}
            </nav>
          </>
        )}
      </Loaded>
    </section>
  );
}
