// The difference between two versions' source, file by file, as lines added
// and removed (jsdiff). Versions uploaded as built components have no
// source to compare; that is said instead.
import { diffLines } from "diff";
import { ApiError, api, unwrap } from "../api/client";
import { useLoad } from "../hooks";
import { useTenant } from "../session";
import { ErrorBox, Loading } from "./State";

type Files = Record<string, string>;

export function SourceDiff({ runbook, from, to }: { runbook: string; from: string; to: string }) {
  const tenant = useTenant();
  const source = (version: string) =>
    unwrap(
      api.GET("/v1/tenants/{tenant}/runbooks/{name}/versions/{version}/source", {
        params: { path: { tenant, name: runbook, version } },
      }),
    ).then(
      (s) => s.files as Files,
      // 404: uploaded as a component; anything else is an error to show.
      (e) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e)),
    );
  const state = useLoad(() => Promise.all([source(from), source(to)]), [tenant, runbook, from, to]);
  if (state.error) return <ErrorBox error={state.error} />;
  if (!state.data) return <Loading what="the sources" />;
  const [a, b] = state.data;
  if (!a || !b) {
    return <p className="muted">{!a ? from : to} was uploaded as a built component: it has no source to compare.</p>;
  }
  const paths = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const changed = paths.filter((p) => a[p] !== b[p]);
  if (changed.length === 0) return <p>The source of {from} and {to} is the same.</p>;
  return (
    <div className="source-diff">
      {changed.map((path) => (
        <section key={path} aria-label={`Changes in ${path}`}>
          <h3>
            <code>{path}</code> {a[path] === undefined ? "(added)" : b[path] === undefined ? "(removed)" : ""}
          </h3>
          <pre className="json">
            {diffLines(a[path] ?? "", b[path] ?? "").flatMap((part, i) =>
              part.value
                .replace(/\n$/, "")
                .split("\n")
                .map((line, j) => (
                  <span key={`${i}.${j}`} className={part.added ? "added" : part.removed ? "removed" : "same"}>
                    {part.added ? "+ " : part.removed ? "- " : "  "}
                    {line}
                    {"\n"}
                  </span>
                )),
            )}
          </pre>
        </section>
      ))}
    </div>
  );
}
