// The sign-in page: a tenant token is exchanged once for an HttpOnly session
// cookie; the token is not kept anywhere script can read it.
import { useState } from "react";
import { api, unwrap } from "../api/client";
import { useAction } from "../hooks";
import type { Session } from "../session";
import { ErrorBox } from "../ui/State";

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [token, setToken] = useState("");
  const { busy, error, run } = useAction();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    await run(async () => {
      const session = await unwrap(api.POST("/v1/session", { body: { token } }));
      setToken("");
      onSignedIn(session);
    });
  };
  return (
    <main className="signin">
      <h1>Wolfe Studio</h1>
      <p>Write, test, deploy and watch runbooks. Sign in with a token of your tenant.</p>
      <form onSubmit={submit}>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          required
        />
        <button type="submit" className="primary" disabled={busy || !token}>
          Sign in
        </button>
      </form>
      <ErrorBox error={error} />
    </main>
  );
}
