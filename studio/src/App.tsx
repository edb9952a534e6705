// The shell: asks the server who the browser's session is, shows the
// sign-in page until there is one, then the navigation and the pages.
import { useCallback, useEffect, useState } from "react";
import { Link, Route, Switch, useLocation } from "wouter";
import { api, onSignedOut, unwrap } from "./api/client";
import { SessionContext, type Session } from "./session";
import { ErrorBox, Loading } from "./ui/State";
import { SignIn } from "./pages/SignIn";
import { Overview } from "./pages/Overview";
import { Runbooks } from "./pages/Runbooks";
import { RunbookPage } from "./pages/Runbook";
import { EditorPage } from "./pages/Editor";
import { Executions } from "./pages/Executions";
import { ExecutionPage } from "./pages/Execution";
import { Rules, RuleEdit } from "./pages/Rules";
import { Sources, SourceEdit } from "./pages/Sources";
import { Safety } from "./pages/Safety";
import { Audit } from "./pages/Audit";
import { Settings } from "./pages/Settings";

const NAVIGATION: [string, string][] = [
  ["/", "Overview"],
  ["/runbooks", "Runbooks"],
  ["/executions", "Executions"],
  ["/rules", "Rules"],
  ["/sources", "Sources"],
  ["/safety", "Safety"],
  ["/audit", "Audit"],
  ["/settings", "Settings"],
];

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<unknown>();

  const refresh = useCallback(() => {
    setError(undefined);
    api.GET("/v1/session").then(
      ({ data, response }) => {
        if (response.status === 401) setSession(null);
        else if (data) setSession(data);
        else setError(new Error(`GET /v1/session answered ${response.status}`));
      },
      (e) => setError(e),
    );
  }, []);
  useEffect(refresh, [refresh]);
  useEffect(() => onSignedOut(() => setSession(null)), []);

  if (error) return <ErrorBox error={error} retry={refresh} />;
  if (session === undefined) return <Loading what="Studio" />;
  if (session === null) return <SignIn onSignedIn={setSession} />;
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} onSignOut={() => setSession(null)} />
    </SessionContext.Provider>
  );
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const [location] = useLocation();
  const signOut = async () => {
    await unwrap(api.DELETE("/v1/session")).catch(() => undefined);
    onSignOut();
  };
  const current = (href: string) =>
    href === "/" ? location === "/" : location === href || location.startsWith(`${href}/`);
  if (!session.tenant) {
    return (
      <main className="signin">
        <p role="alert">
          This is the server admin token. Studio works inside one tenant: sign in with a tenant's
          token (create one with <code>wolfe token create</code>).
        </p>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </main>
    );
  }
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Wolfe Studio</span>
        <nav aria-label="Main">
          {NAVIGATION.map(([href, label]) => (
            <Link key={href} href={href} className={current(href) ? "active" : ""} aria-current={current(href) ? "page" : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <span className="who" title={`token ${session.token_id}`}>
          {session.tenant} · {session.role}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Switch>
          <Route path="/" component={Overview} />
          <Route path="/runbooks" component={Runbooks} />
          <Route path="/runbooks/new" component={EditorPage} />
          <Route path="/runbooks/:name/edit" component={EditorPage} />
          <Route path="/runbooks/:name" component={RunbookPage} />
          <Route path="/executions" component={Executions} />
          <Route path="/executions/:id" component={ExecutionPage} />
          <Route path="/rules" component={Rules} />
          <Route path="/rules/new" component={RuleEdit} />
          <Route path="/rules/:name" component={RuleEdit} />
          <Route path="/sources" component={Sources} />
          <Route path="/sources/new" component={SourceEdit} />
          <Route path="/sources/:name" component={SourceEdit} />
          <Route path="/safety" component={Safety} />
          <Route path="/audit" component={Audit} />
          <Route path="/settings" component={Settings} />
          <Route>
            <h1>Not found</h1>
            <p>
              Studio has no page at <code>{location}</code>. <Link href="/">Go to the overview</Link>.
            </p>
          </Route>
        </Switch>
      </main>
    </div>
  );
}
