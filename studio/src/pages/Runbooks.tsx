// Every runbook of the tenant, with the version each environment runs.
import { Link } from "wouter";
import { api, unwrap } from "../api/client";
import { useLoad } from "../hooks";
import { useCan, useTenant } from "../session";
import { Loaded } from "../ui/State";
import { usePage } from "../ui/Pager";

const ENVIRONMENTS = ["dev", "test", "prod"] as const;

export function Runbooks() {
  const tenant = useTenant();
  const canWrite = useCan("write_runbooks");
  // The capability report has every version with the environments it is
  // deployed to: one request for the whole table.
  const state = useLoad(
    () => unwrap(api.GET("/v1/tenants/{tenant}/report", { params: { path: { tenant } } })),
    [tenant],
  );
  return (
    <section aria-labelledby="runbooks-title">
      <div className="title-row">
        <h1 id="runbooks-title">Runbooks</h1>
        {canWrite && (
          <Link href="/runbooks/new" className="button primary">
            New runbook
          </Link>
        )}
      </div>
      <Loaded state={state} what="runbooks">
        {(report) => <RunbookTable runbooks={report.runbooks} />}
      </Loaded>
    </section>
  );
}

function RunbookTable({ runbooks }: { runbooks: { name: string; versions: { version: string; environments: string[]; language: string }[] }[] }) {
  const { items, pager } = usePage(runbooks);
  if (runbooks.length === 0) return <p className="empty">No runbooks yet.</p>;
  return (
    <>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Runbook</th>
              <th scope="col">Language</th>
              <th scope="col">Versions</th>
              {ENVIRONMENTS.map((e) => (
                <th scope="col" key={e}>
                  {e}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {items.map((r) => {
              const deployedIn = (env: string) => r.versions.find((v) => v.environments.includes(env))?.version;
              return (
                <tr key={r.name}>
                  <td>
                    <Link href={`/runbooks/${encodeURIComponent(r.name)}`}>{r.name}</Link>
                  </td>
                  <td>{r.versions.at(-1)?.language}</td>
                  <td>{r.versions.length}</td>
                  {ENVIRONMENTS.map((e) => (
                    <td key={e}>{deployedIn(e) ?? <span className="muted">—</span>}</td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {pager}
    </>
  );
}
