// Who is signed in, and what their role may do. Studio hides what the role
// may not do; the API refuses it anyway.
import { createContext, useContext } from "react";
import type { Schemas } from "./api/client";

export type Session = Schemas["SessionInfo"];
export type Action = Schemas["Action"];

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in page");
  return session;
}

/** The tenant the pages show: the token's own. */
export function useTenant(): string {
  return useSession().tenant ?? "";
}

/** Whether the signed-in role may perform `action`. */
export function useCan(action: Action): boolean {
  return useSession().can.includes(action);
}
