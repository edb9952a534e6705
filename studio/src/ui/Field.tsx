// A labelled form control with the API's validation error shown beside it.
import { useId } from "react";
import { ApiError } from "../api/client";

/**
 * Which field an API validation error is about: the messages start with the
 * field's path (`criteria[0].op: unknown variant …`, `runbook: …`).
 */
export function fieldOf(error: unknown, fields: string[]): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const message = error.message.replace(/^(invalid (request|body|rule|source)[:,]?\s*)/i, "");
  return fields.find((f) => message.startsWith(f) || message.includes(`\`${f}\``) || message.includes(` ${f}:`));
}

export function Field({
  label,
  error,
  hint,
  children,
}: {
  label: string;
  error?: string;
  hint?: React.ReactNode;
  children: (props: { id: string; "aria-invalid"?: boolean; "aria-describedby"?: string }) => React.ReactNode;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  return (
    <div className={`field ${error ? "invalid" : ""}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": error ? true : undefined, "aria-describedby": error ? errorId : undefined })}
      {hint && <small className="muted">{hint}</small>}
      {error && (
        <small id={errorId} className="field-error" role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

/** Parses a JSON text field; the error names the field. */
export function parseJson(label: string, text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, "invalid_json", `${label}: ${(e as Error).message}`);
  }
}
