// The editor: start a runbook from the Rust, Python or JavaScript template
// (or open a version's source), edit its files, build it on the server,
// deploy it to dev and run it against a sample event, and read the record.
import { Suspense, lazy, useEffect, useState } from "react";
import { Link, useParams } from "wouter";
import { ApiError, api, unwrap, type Schemas } from "../api/client";
import { useLoad } from "../hooks";
import { useCan, useTenant } from "../session";
import { Field } from "../ui/Field";
import { ErrorBox, Loading } from "../ui/State";
import { Status } from "../ui/Status";
import { Time } from "../ui/Time";
import { ExecutionView } from "./Execution";

const CodeEditor = lazy(() => import("../editor/CodeEditor"));

type Files = Record<string, string>;
type Language = Schemas["Language"];
const MANIFEST = "runbook.toml";
const LANGUAGES: [Language, string][] = [
  ["python", "Python"],
  ["js", "JavaScript"],
  ["rust", "Rust"],
];

/**
 * The manifest with its version's last number raised: `"1.2.3"` → `"1.2.4"`,
 * `"1.0.0-rc.1"` → `"1.0.0-rc.2"`, `'2'` → `'3'`. Unchanged when the version
 * has no number.
 */
export function bumpVersion(manifest: string): string {
  return manifest.replace(
    /^(\s*version\s*=\s*["'][^"'\n]*?)(\d+)(\D*["'])/m,
    (_, head, n, tail) => `${head}${Number(n) + 1}${tail}`,
  );
}
const versionOf = (manifest: string) => /^\s*version\s*=\s*["']([^"'\n]+)["']/m.exec(manifest)?.[1] ?? "";

export function EditorPage() {
  const params = useParams<{ name?: string }>();
  const tenant = useTenant();
  const canWrite = useCan("write_runbooks");
  const existing = params.name;
  // An existing runbook opens the source of its newest version.
  const source = useLoad(async () => {
    if (!existing) return null;
    const detail = await unwrap(api.GET("/v1/tenants/{tenant}/runbooks/{name}", { params: { path: { tenant, name: existing } } }));
    const newest = [...detail.versions].sort((a, b) => a.uploaded_at.localeCompare(b.uploaded_at)).at(-1);
    if (!newest) return null;
    const { files } = await unwrap(
      api.GET("/v1/tenants/{tenant}/runbooks/{name}/versions/{version}/source", {
        params: { path: { tenant, name: existing, version: newest.version } },
      }),
    );
    return { files: { ...files, [MANIFEST]: bumpVersion(files[MANIFEST] ?? "") }, from: newest.version };
  }, [tenant, existing]);
  if (!canWrite) return <p role="alert">Your role cannot write runbooks.</p>;
  if (existing && source.loading) return <Loading what="the runbook's source" />;
  return (
    <Workbench
      key={existing ?? "new"}
      initialName={existing ?? ""}
      initialFiles={source.data?.files}
      openedFrom={source.data?.from}
      sourceError={source.error}
    />
  );
}

function Workbench({
  initialName,
  initialFiles,
  openedFrom,
  sourceError,
}: {
  initialName: string;
  initialFiles?: Files;
  openedFrom?: string;
  sourceError?: unknown;
}) {
  const tenant = useTenant();
  const [name, setName] = useState(initialName || "my-runbook");
  const [files, setFiles] = useState<Files | undefined>(initialFiles);
  const [open, setOpen] = useState(MANIFEST);
  const [input, setInput] = useState('{\n  "service": "checkout"\n}');
  const [building, setBuilding] = useState(false);
  const [built, setBuilt] = useState<{ version: string; log?: string | null }>();
  const [error, setError] = useState<unknown>();
  const [execution, setExecution] = useState<string>();
  const languages = useLoad(() => unwrap(api.GET("/v1/build/languages")), []);
  const canRun = useCan("run_runbooks");

  const startFrom = async (language: Language) => {
    setError(undefined);
    try {
      // The server names the runbook in every file that holds its name
      // (the manifest, and Cargo.toml for Rust).
      const template = await unwrap(
        api.GET("/v1/build/templates/{language}", { params: { path: { language }, query: { name } } }),
      );
      const next: Files = { ...template.files };
      setFiles(next);
      setOpen(Object.keys(next).find((f) => /\.(py|js|rs)$/.test(f)) ?? MANIFEST);
      if (template.event !== undefined) setInput(JSON.stringify(template.event, null, 2));
    } catch (e) {
      setError(e);
    }
  };

  const build = async (bump = false) => {
    if (!files) return;
    setError(undefined);
    setBuilt(undefined);
    setBuilding(true);
    const sent = bump ? { ...files, [MANIFEST]: bumpVersion(files[MANIFEST]) } : files;
    if (bump) setFiles(sent);
    try {
      const answer = await unwrap(
        api.POST("/v1/tenants/{tenant}/runbooks/{name}/source", { params: { path: { tenant, name } }, body: { files: sent } }),
      );
      setBuilt({ version: answer.version, log: answer.log });
    } catch (e) {
      setError(e);
    } finally {
      setBuilding(false);
    }
  };

  const run = async () => {
    if (!built) return;
    setError(undefined);
    try {
      const value = JSON.parse(input);
      await unwrap(
        api.PUT("/v1/tenants/{tenant}/runbooks/{name}/environments/{env}", {
          params: { path: { tenant, name, env: "dev" } },
          body: { version: built.version },
        }),
      );
      const accepted = await unwrap(
        api.POST("/v1/tenants/{tenant}/runbooks/{name}/run", {
          params: { path: { tenant, name } },
          body: { environment: "dev", input: value },
        }),
      );
      setExecution(accepted.execution_id);
    } catch (e) {
      setError(e instanceof SyntaxError ? new ApiError(400, "invalid_json", `input: ${e.message}`) : e);
    }
  };

  const conflict = error instanceof ApiError && error.code === "conflict";
  return (
    <section aria-labelledby="editor-title" className="editor-page">
      <div className="title-row">
        <h1 id="editor-title">{initialName ? `Edit ${initialName}` : "New runbook"}</h1>
        {openedFrom && <span className="muted">from version {openedFrom}</span>}
      </div>
      {sourceError ? <ErrorBox error={sourceError} /> : null}
      <div className="filters">
        <label>
          Runbook name
          <input value={name} readOnly={!!initialName} onChange={(e) => setName(e.target.value.trim())} />
        </label>
        <span className="template-buttons" role="group" aria-label="Start from a template">
          {LANGUAGES.map(([language, label]) => {
            const support = languages.data?.languages.find((l) => l.language === language);
            return (
              <button
                type="button"
                key={language}
                disabled={support ? !support.available : false}
                title={support && !support.available ? (support.reason ?? "") : `Start from the ${label} template`}
                onClick={() => startFrom(language)}
              >
                {label} template
              </button>
            );
          })}
        </span>
      </div>
      {!files ? (
        <p className="empty">Start from a template{initialName ? " (this runbook's versions were uploaded without source)" : ""}.</p>
      ) : (
        <div className="workbench">
          <div className="files">
            <div role="tablist" aria-label="Files" className="tabs">
              {Object.keys(files)
                .sort()
                .map((path) => (
                  <button type="button" role="tab" key={path} aria-selected={open === path} onClick={() => setOpen(path)}>
                    {path}
                  </button>
                ))}
            </div>
            <Suspense fallback={<Loading what="the editor" />}>
              <CodeEditor
                key={open}
                path={open}
                label={`Contents of ${open}`}
                value={files[open] ?? ""}
                onChange={(text) => setFiles((f) => ({ ...f!, [open]: text }))}
              />
            </Suspense>
            <div className="actions">
              <button type="button" className="primary" disabled={building} onClick={() => build()}>
                {building ? "Building…" : `Build ${versionOf(files[MANIFEST] ?? "")}`}
              </button>
              {conflict && (
                <button type="button" onClick={() => build(true)}>
                  Bump to {versionOf(bumpVersion(files[MANIFEST] ?? ""))} and build
                </button>
              )}
            </div>
            {error ? (
              <div className="error build-error" role="alert">
                <pre>{error instanceof ApiError ? `${error.code}: ${error.message}` : String(error)}</pre>
              </div>
            ) : null}
            {built && (
              <p className="callout good" role="status">
                Built and stored {name} {built.version}.{" "}
                <Link href={`/runbooks/${encodeURIComponent(name)}`}>Deploy and promote it from its page</Link>.
              </p>
            )}
          </div>
          <aside className="test-side" aria-label="Test run">
            <Field label="Input (sample event)" hint="The runbook's input, as a rule would render it.">
              {(p) => <textarea {...p} className="code" rows={8} value={input} onChange={(e) => setInput(e.target.value)} />}
            </Field>
            {canRun ? (
              <button type="button" disabled={!built} onClick={run} title={built ? "" : "Build first"}>
                Run in dev
              </button>
            ) : (
              <p className="muted">Your role builds and deploys; running needs the operator or admin role.</p>
            )}
            <TestRuns runbook={name} current={execution} onOpen={setExecution} />
          </aside>
        </div>
      )}
      {execution && <LiveExecution id={execution} />}
    </section>
  );
}

/** The last runs of the runbook in dev, newest first. */
function TestRuns({ runbook, current, onOpen }: { runbook: string; current?: string; onOpen: (id: string) => void }) {
  const tenant = useTenant();
  const runs = useLoad(
    () =>
      unwrap(api.GET("/v1/tenants/{tenant}/executions", { params: { path: { tenant }, query: { runbook, limit: 10 } } })),
    [tenant, runbook, current],
  );
  const dev = runs.data?.executions.filter((e) => e.environment === "dev") ?? [];
  return (
    <section aria-labelledby="runs-title">
      <h2 id="runs-title">Last test runs</h2>
      {dev.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <ul className="plain runs">
          {dev.map((e) => (
            <li key={e.id}>
              <button type="button" className="link" onClick={() => onOpen(e.id)} aria-current={e.id === current}>
                <Time value={e.created_at} /> {e.version}
              </button>{" "}
              <Status status={e.status} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Follows one execution until it finishes, then shows its whole record. */
function LiveExecution({ id }: { id: string }) {
  const tenant = useTenant();
  const state = useLoad(() => unwrap(api.GET("/v1/tenants/{tenant}/executions/{id}", { params: { path: { tenant, id } } })), [tenant, id]);
  const unfinished = state.data && ["queued", "running"].includes(state.data.status);
  useEffect(() => {
    if (!unfinished) return;
    const timer = setTimeout(state.reload, 300);
    return () => clearTimeout(timer);
  }, [unfinished, state.data, state.reload]);
  if (state.error) return <ErrorBox error={state.error} />;
  if (!state.data) return <Loading what="the run" />;
  return (
    <section aria-label="Test run result" className="run-result">
      <ExecutionView record={state.data} />
    </section>
  );
}
