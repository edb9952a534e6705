// A modal dialog that asks before an action that changes what runs
// (deploy, promote, delete), showing what will change.
import { useEffect, useRef } from "react";

export function Confirm({
  title,
  open,
  confirmLabel,
  confirmDisabled = false,
  onConfirm,
  onCancel,
  children,
}: {
  title: string;
  open: boolean;
  confirmLabel: string;
  /** While what the person must see first is loading, or the action runs. */
  confirmDisabled?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  children: React.ReactNode;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={dialog} aria-label={title} onCancel={onCancel} className="confirm">
      <h2>{title}</h2>
      <div className="confirm-body">{children}</div>
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="primary" onClick={onConfirm} disabled={confirmDisabled}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
