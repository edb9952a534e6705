// A list row's on/off switch (rules, sources): a labelled checkbox for a
// role that may change it, the word alone for one that may not.
export function EnabledSwitch({
  label,
  on,
  onToggle,
}: {
  /** What the switch enables, for screen readers: "rule r1". */
  label: string;
  on: boolean;
  /** Absent: the role may not change it. */
  onToggle?: () => void;
}) {
  if (!onToggle) return <>{on ? "on" : "off"}</>;
  return (
    <label className="switch">
      <input type="checkbox" checked={on} onChange={onToggle} />
      <span className="visually-hidden">Enable {label}</span>
      {on ? "on" : "off"}
    </label>
  );
}
