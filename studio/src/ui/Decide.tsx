// Approve or reject an execution that awaits approval: a dialog that shows
// what would run and asks for a comment, which the audit log keeps.
import { useState } from "react";
import { api, unwrap } from "../api/client";
import { useAction } from "../hooks";
import { useTenant } from "../session";
import { Confirm } from "./Confirm";
import { ErrorBox } from "./State";

export function Decide({
  id,
  what,
  onDone,
}: {
  id: string;
  /** What the execution would do, in a line: runbook, rule, key. */
  what: string;
  onDone: () => void;
}) {
  const tenant = useTenant();
  const [decision, setDecision] = useState<"approve" | "reject">();
  const [comment, setComment] = useState("");
  const { busy, error, run } = useAction();
  const decide = async () => {
    if (!decision) return;
    await run(async () => {
      const params = { path: { tenant, id } };
      const body = { comment: comment.trim() || undefined };
      await unwrap(
        decision === "approve"
          ? api.POST("/v1/tenants/{tenant}/executions/{id}/approve", { params, body })
          : api.POST("/v1/tenants/{tenant}/executions/{id}/reject", { params, body }),
      );
      setDecision(undefined);
      setComment("");
      onDone();
    });
  };
  return (
    <span className="actions">
      <button type="button" className="primary" onClick={() => setDecision("approve")}>
        Approve
      </button>
      <button type="button" className="danger" onClick={() => setDecision("reject")}>
        Reject
      </button>
      <Confirm
        title={decision === "approve" ? "Approve this execution?" : "Reject this execution?"}
        open={decision !== undefined}
        confirmLabel={decision === "approve" ? "Approve and run" : "Reject"}
        confirmDisabled={busy}
        onConfirm={decide}
        onCancel={() => setDecision(undefined)}
      >
        <p>{what}</p>
        <p className="muted">
          {decision === "approve" ? "It runs at once." : "It ends suppressed (rejected) and runs nothing."}
        </p>
        <label className="field">
          Comment for the audit log
          <textarea rows={3} value={comment} onChange={(e) => setComment(e.target.value)} maxLength={4096} />
        </label>
        <ErrorBox error={error} />
      </Confirm>
    </span>
  );
}
