// A JSON value shown as indented text. React renders it as text, so event
// data (attacker-controlled: alert labels come from anywhere) never becomes
// markup.
export function Json({ value, label }: { value: unknown; label?: string }) {
  if (value === undefined) return <span className="muted">—</span>;
  return (
    <pre className="json" aria-label={label} tabIndex={0}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}
