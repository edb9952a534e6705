// An execution's status as a coloured badge (the word is always shown:
// colour alone says nothing to a screen reader or a colour-blind reader).
export function Status({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status.replaceAll("_", " ")}</span>;
}
